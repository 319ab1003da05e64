//go:build linux

package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pnpbox/pnpbox/internal/netnstest"
)

// bins holds the binaries under test, built once by TestMain.
var bins struct {
	dir      string
	pnpd     string
	phonesim string
	err      error
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pnpbox-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bins.dir = dir
	bins.pnpd = filepath.Join(dir, "pnpd")
	bins.phonesim = filepath.Join(dir, "phonesim")
	for out, pkg := range map[string]string{bins.pnpd: "../cmd/pnpd", bins.phonesim: "../cmd/phonesim"} {
		cmd := exec.Command("go", "build", "-o", out, pkg)
		if b, err := cmd.CombinedOutput(); err != nil {
			bins.err = fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// requireRoot skips unless root, and fails instead in CI, where these
// tests must run.
func requireRoot(t *testing.T) {
	t.Helper()
	if bins.err != nil {
		t.Fatal(bins.err)
	}
	netnstest.Require(t)
}

// lan is two network namespaces joined by a veth pair: "box" (pnpd) and
// "phones" (phonesim), each side's interface named lan0, on 198.18.0.0/24.
type lan struct {
	box, phones *netnstest.NS
}

// boxAddr is pnpd's address on the LAN.
const boxAddr = "198.18.0.1"

// newLAN creates the namespaces (deleted when the test ends, even on
// failure) and adds phoneAddrs addresses 198.18.0.100… on the phones'
// side for a fleet.
func newLAN(t *testing.T, phoneAddrs int) *lan {
	t.Helper()
	l := &lan{box: netnstest.New(t, "pnpbox-e2e-box"), phones: netnstest.New(t, "pnpbox-e2e-ph")}
	netnstest.Cable(t, l.box, "lan0", l.phones, "lan0")
	l.box.IP(t, "addr", "add", boxAddr+"/24", "dev", "lan0")
	l.phones.IP(t, "addr", "add", "198.18.0.2/24", "dev", "lan0")
	// Many addresses at once through ip -batch: one exec, not fifty.
	var batch bytes.Buffer
	for i := range phoneAddrs {
		fmt.Fprintf(&batch, "addr add %s/24 dev lan0\n", phoneIP(i))
	}
	if phoneAddrs > 0 {
		cmd := exec.Command("ip", "-n", l.phones.Name, "-batch", "-")
		cmd.Stdin = &batch
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("add phone addresses: %v\n%s", err, out)
		}
	}
	return l
}

// phoneIP is the address of phone i of a fleet.
func phoneIP(i int) string { return fmt.Sprintf("198.18.0.%d", 100+i) }

// proc is a program running in a namespace, its output kept for failures.
type proc struct {
	name string
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan error
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// start runs argv in namespace ns (its output kept for the test to read);
// the process is killed when the test ends
// and its output logged if the test failed.
func start(t *testing.T, ns *netnstest.NS, name string, argv ...string) *proc {
	t.Helper()
	p := &proc{name: name, done: make(chan error, 1)}
	p.cmd = ns.Command(argv[0], argv[1:]...)
	p.cmd.Stdout, p.cmd.Stderr = p, p
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("--- %s output ---\n%s", name, p.output())
		}
	})
	return p
}

// signal sends sig and waits for the process to exit.
func (p *proc) stop(t *testing.T, sig os.Signal) error {
	t.Helper()
	p.cmd.Process.Signal(sig)
	select {
	case err := <-p.done:
		p.done <- err // keep it for Cleanup
		return err
	case <-time.After(60 * time.Second):
		t.Fatalf("%s did not exit within 60 s of %v", p.name, sig)
		return nil
	}
}
