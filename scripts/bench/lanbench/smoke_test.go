package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pnpbox/pnpbox/internal/netnstest"
)

// TestSmoke runs the bench suite at a tiny size against pnpd alone: the
// scenarios still work (LAN set up, phones answered and recorded once,
// sipp and the flood generator run, footprint read), with no timing
// asserted. The reference servers (Kamailio, nginx, wrk) are left to
// make bench.
func TestSmoke(t *testing.T) {
	netnstest.Require(t, "sipp")
	bin := t.TempDir()
	for _, pkg := range []string{"pnpd", "phonesim"} {
		build(t, filepath.Join(bin, pkg), "../../../cmd/"+pkg)
	}
	build(t, filepath.Join(bin, "lanbench"), ".")
	out := filepath.Join(t.TempDir(), "smoke.md")
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), filepath.Join(bin, "lanbench"), "run", "-smoke", "-refs=false",
		"-only", "storm,sipp,flood,footprint", "-bin", bin, "-out", out)
	cmd.Dir = root
	msg, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("lanbench run -smoke: %v\n%s", err, msg)
	}
	md, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"20/20 first try", "20 recorded, 0 twice", "5/5 first try", "RSS idle"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}

func build(t *testing.T, out, pkg string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, msg)
	}
}
