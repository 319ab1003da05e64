//go:build linux

package netif

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pnpbox/pnpbox/internal/netnstest"
)

// TestLinkLocalConflict: the first link-local candidate is taken by
// another host on the LAN (which answers the ARP probes); the box picks
// the next one and the other host's address is left alone.
func TestLinkLocalConflict(t *testing.T) {
	netnstest.Require(t)
	box, lan := netnstest.New(t, "pnpbox"), netnstest.New(t, "pnplan")
	netnstest.Cable(t, box, "lan0", lan, "peer0")
	ifi, err := netnstest.Do(box, func() (*net.Interface, error) { return net.InterfaceByName("lan0") })
	if err != nil {
		t.Fatal(err)
	}
	taken := linkLocalCandidate(ifi.HardwareAddr, 0)
	lan.IP(t, "addr", "add", netip.PrefixFrom(taken, 16).String(), "dev", "peer0")

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	start := time.Now()
	got, err := netnstest.Do(box, func() (netip.Prefix, error) {
		return linkLocal(ctx, "lan0", slog.New(slog.NewTextHandler(t.Output(), nil)))
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("MEASURED: link-local %s chosen in %v (first candidate %s taken)", got, time.Since(start), taken)
	if want := netip.PrefixFrom(linkLocalCandidate(ifi.HardwareAddr, 1), 16); got != want {
		t.Errorf("linkLocal = %s, want the second candidate %s", got, want)
	}
}

// TestStaticInstall: the address and default route go in through
// netlink and the address comes out again; removing twice is no error.
func TestStaticInstall(t *testing.T) {
	netnstest.Require(t)
	box, lan := netnstest.New(t, "pnpbox"), netnstest.New(t, "pnplan")
	netnstest.Cable(t, box, "lan0", lan, "peer0")
	a := &nlAddrs{name: "lan0", route: true}
	p := netip.MustParsePrefix("198.18.0.2/24")
	if _, err := netnstest.Do(box, func() (any, error) {
		return nil, a.install(p, 90*time.Second, netip.MustParseAddr("198.18.0.1"))
	}); err != nil {
		t.Fatal(err)
	}
	if out := box.IP(t, "-4", "addr", "show", "dev", "lan0"); !strings.Contains(out, "198.18.0.2/24") || !strings.Contains(out, "valid_lft 9") {
		t.Errorf("address with a 90 s lifetime not installed:\n%s", out)
	}
	if out := box.IP(t, "route", "show", "default"); !strings.Contains(out, "via 198.18.0.1 dev lan0") {
		t.Errorf("default route: %q", out)
	}
	for range 2 {
		if _, err := netnstest.Do(box, func() (any, error) { return nil, a.remove(p) }); err != nil {
			t.Fatal(err)
		}
	}
	if out := box.IP(t, "-4", "addr", "show", "dev", "lan0"); strings.Contains(out, "198.18.0.2") {
		t.Errorf("address still there:\n%s", out)
	}
}
