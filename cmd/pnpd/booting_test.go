package main

import (
	"log/slog"
	"net/netip"
	"testing"

	"github.com/pnpbox/pnpbox/board/netif"
)

func TestBootLED(t *testing.T) {
	up := netif.State{Name: "eth0", Index: 2, Up: true, Carrier: true}
	asking := up
	asking.Acquiring = true
	leased := up
	leased.Prefixes = []netip.Prefix{netip.MustParsePrefix("198.18.0.10/24")}
	unplugged := netif.State{Name: "eth0", Index: 2, Up: true}

	l := &lan{log: slog.New(slog.DiscardHandler)}
	b := &bootLED{}
	steps := []struct {
		name   string
		states []netif.State // nil: not read yet
		joined bool
		want   bool
	}{
		{"started, LAN not read", nil, false, true},
		{"DHCP asking", []netif.State{asking}, false, true},
		{"address, group not joined", []netif.State{leased}, false, true},
		{"address and group: ready", []netif.State{leased}, true, false},
		{"cable out later: error, not booting", []netif.State{unplugged}, false, false},
		{"DHCP again later", []netif.State{asking}, false, false},
	}
	for _, s := range steps {
		if s.states != nil {
			l.states = s.states
		}
		if got := b.booting(l, s.joined); got != s.want {
			t.Errorf("%s: booting = %v, want %v", s.name, got, s.want)
		}
	}
	// Loopback (a laptop): an address is enough.
	lo := netif.State{Name: "lo", Index: 1, Up: true, Loopback: true, Prefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/8")}}
	if (&bootLED{}).booting(&lan{log: slog.New(slog.DiscardHandler), states: []netif.State{lo}}, false) {
		t.Error("loopback with an address shows booting")
	}
	// A cable out from the start is an error an installer must see.
	l2, b2 := &lan{log: slog.New(slog.DiscardHandler), states: []netif.State{unplugged}}, &bootLED{}
	if b2.booting(l2, false) {
		t.Error("no link at boot shows booting, want error")
	}
}
