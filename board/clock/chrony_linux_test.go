package clock

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pnpbox/pnpbox/internal/netnstest"
)

// A real NTP server (Debian's chronyd, serving its own clock) in one
// namespace and the default SNTP query from another: the exchange works
// end to end and the measured offset is the host's own clock's, near 0.
// The system clock itself is not touched (Step is replaced).
func TestAgainstChrony(t *testing.T) {
	netnstest.Require(t, "chronyd")
	srv, cli := netnstest.New(t, "pnpbox-ntp-srv"), netnstest.New(t, "pnpbox-ntp-cli")
	netnstest.Cable(t, srv, "lan0", cli, "lan0")
	srv.IP(t, "addr", "add", "198.18.0.1/24", "dev", "lan0")
	cli.IP(t, "addr", "add", "198.18.0.2/24", "dev", "lan0")
	dir := t.TempDir()
	conf := filepath.Join(dir, "chrony.conf")
	os.WriteFile(conf, []byte("local stratum 8\nallow all\ncmdport 0\nbindaddress 198.18.0.1\n"+
		"pidfile "+filepath.Join(dir, "chronyd.pid")+"\n"), 0o644)
	// -x: never touch the system clock; -d: stay in the foreground.
	netnstest.Start(t, srv.Command("chronyd", "-d", "-x", "-f", conf), "chronyd")

	var steps []time.Duration
	c := &Clock{Servers: func() []string { return []string{"198.18.0.1"} },
		Step: func(d time.Duration) error { steps = append(steps, d); return nil }}
	deadline := time.Now().Add(30 * time.Second)
	var err error
	for time.Now().Before(deadline) && !c.Synced() {
		_, err = netnstest.Do(cli, func() (struct{}, error) {
			return struct{}{}, c.round(sntp, c.Step, slog.New(slog.DiscardHandler))
		})
		if err != nil {
			time.Sleep(500 * time.Millisecond)
		}
	}
	if !c.Synced() {
		t.Fatalf("no answer from chronyd in 30 s: %v", err)
	}
	if len(steps) != 0 {
		t.Errorf("stepped by %v against a server on the same clock", steps)
	}
}
