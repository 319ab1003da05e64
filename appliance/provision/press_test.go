package provision

import (
	"bytes"
	"errors"
	"log/slog"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pnpbox/pnpbox/appliance"
)

// TestSkippedPhonesRecorded: a press records every phone it leaves out,
// with the reason, whoever pressed and whether or not anyone reads the
// summary (the physical button does not).
func TestSkippedPhonesRecorded(t *testing.T) {
	f := newFixture(t, clock())
	prestaged := mac(t, "000B82000001")
	if _, err := f.c.Assign(prestaged, assignment); err != nil {
		t.Fatal(err)
	}
	f.settings(t, `{"extension_pool":"300-399","pool_max_per_press":1}`)
	first, second := mac(t, "000B82000002"), mac(t, "000B82000003")
	f.c.discover(disc(first, "198.18.0.102", "c2"))
	f.c.discover(disc(second, "198.18.0.103", "c3"))

	sum, err := f.c.ProvisionAll()
	if err != nil {
		t.Fatal(err)
	}
	f.c.notifWG.Wait()
	want := []Skip{
		{MAC: second, Reason: "pool_max_per_press (1) reached; press again"},
		{MAC: prestaged, Reason: ErrNotSeen.Error()},
	}
	if d := cmp.Diff(want, sum.Skipped); d != "" {
		t.Errorf("skipped (-want +got):\n%s", d)
	}
	got := f.events(t, appliance.EventNotify)
	for _, sk := range want {
		line := sk.MAC.String() + " not sent: " + sk.Reason
		found := false
		for _, e := range got {
			found = found || e == line
		}
		if !found {
			t.Errorf("no event %q among %q", line, got)
		}
	}
}

// TestDownloadNotFoundLogsWhy: every refusal is the same 404 to the
// client, and a debug line says which check failed, never with the token.
func TestDownloadNotFoundLogsWhy(t *testing.T) {
	var logBuf bytes.Buffer
	f := newFixture(t, func(c *Config) {
		c.Log = slog.New(slog.NewTextHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	seen := mac(t, "000B82000001")
	f.c.discover(disc(seen, "198.18.0.101", "c1"))
	e, _ := f.c.Phone(seen)
	tok := e.Phone.Token
	local := netip.MustParseAddrPort("198.18.0.1:8080")
	get := func(token, file string) error {
		_, err := f.c.Download(DownloadRequest{Token: token, File: file, Remote: e.Phone.IP, Local: local})
		return err
	}
	for _, tc := range []struct {
		name, token, file, why string
		assign                 bool
	}{
		{"unknown token", strings.Repeat("0", 32), "cfg.xml", "unknown token", false},
		{"no assignment", tok, "cfg.xml", "no assignment", false},
		{"file name", tok, "cfg000b82999999.xml", "file name not served to this phone", true},
	} {
		if tc.assign {
			if _, err := f.c.Assign(seen, assignment); err != nil {
				t.Fatal(err)
			}
		}
		logBuf.Reset()
		if err := get(tc.token, tc.file); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: Download = %v, want ErrNotFound", tc.name, err)
		}
		logged := logBuf.String()
		if !strings.Contains(logged, `why="`+tc.why+`"`) {
			t.Errorf("%s: log %q does not say why=%q", tc.name, logged, tc.why)
		}
		if strings.Contains(logged, tok) {
			t.Errorf("%s: log holds the token: %q", tc.name, logged)
		}
	}
}
