package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pnpbox/pnpbox/appliance/pnp"
	"github.com/pnpbox/pnpbox/board/netif"
)

// lan feeds the SIP server the served interfaces as board/netif reports
// them, so a new address is used in the next NOTIFY URL and a re-created
// interface is joined to the multicast group again, and says what is
// wrong with the LAN, if anything, for the LED and /healthz.
type lan struct {
	srv *pnp.Server // set before the first update
	log *slog.Logger

	mu      sync.Mutex
	states  []netif.State
	joinErr error
}

// update takes the interfaces' new states (netif.Config.OnChange).
func (l *lan) update(states []netif.State) {
	l.mu.Lock()
	l.states = states
	l.mu.Unlock()
	l.apply()
}

// apply hands the interfaces to the SIP server, which joins the group on
// any it has not joined. Interfaces that exist are served even when down:
// the membership belongs to the ifindex and outlives a link flap.
func (l *lan) apply() {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ifs []pnp.Interface
	for _, s := range l.states {
		if s.Index == 0 {
			continue
		}
		ifs = append(ifs, pnp.Interface{Name: s.Name, Index: s.Index, Prefixes: s.Prefixes, Loopback: s.Loopback})
	}
	err := l.srv.SetInterfaces(ifs)
	if err != nil && (l.joinErr == nil || err.Error() != l.joinErr.Error()) {
		l.log.Warn("multicast group not joined; retrying", "err", err)
	}
	l.joinErr = err
}

// retryJoins tries the group join again every second while it is
// failing (an interface that came up before its driver accepts the join,
// say), until ctx is done.
func (l *lan) retryJoins(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		l.mu.Lock()
		failed := l.joinErr != nil
		l.mu.Unlock()
		if failed {
			l.apply()
		}
	}
}

// problem is the first thing wrong with the LAN, or "".
func (l *lan) problem() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.states) == 0 {
		return "LAN interface not read yet"
	}
	for _, s := range l.states {
		if p := s.Problem(); p != "" {
			return p
		}
	}
	if l.joinErr != nil {
		return "cannot join the SIP multicast group: " + l.joinErr.Error()
	}
	return ""
}

// acquiring reports whether DHCP is still looking for a first lease (the
// LED then says "booting" rather than "error").
func (l *lan) acquiring() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.ContainsFunc(l.states, netif.State.WaitingForLease)
}

// chooseInterfaces returns the interfaces named by -iface (comma-separated),
// or picks one: for -net none the default route's interface, else the
// first up, multicast-capable, non-loopback interface with IPv4; when pnpd
// configures the interface itself it may have no address yet, so the
// first Ethernet interface.
func chooseInterfaces(list string, managed bool) ([]string, error) {
	if list != "" {
		var names []string
		for _, n := range strings.Split(list, ",") {
			n = strings.TrimSpace(n)
			if n == "" || slices.Contains(names, n) {
				continue
			}
			if _, err := net.InterfaceByName(n); err != nil {
				return nil, fmt.Errorf("-iface %s: %w", n, err)
			}
			names = append(names, n)
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("-iface %q: no interface named", list)
		}
		return names, nil
	}
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	if managed {
		for _, ni := range ifs {
			if ni.Flags&net.FlagLoopback == 0 && ni.Flags&net.FlagMulticast != 0 && len(ni.HardwareAddr) == 6 {
				return []string{ni.Name}, nil
			}
		}
		return nil, errors.New("no Ethernet interface found: pass -iface")
	}
	if n := defaultRouteInterface(); n != "" {
		return []string{n}, nil
	}
	for _, ni := range ifs {
		if ni.Flags&net.FlagUp == 0 || ni.Flags&net.FlagLoopback != 0 || ni.Flags&net.FlagMulticast == 0 {
			continue
		}
		addrs, _ := ni.Addrs()
		for _, a := range addrs {
			if prefixOf(a).IsValid() {
				return []string{ni.Name}, nil
			}
		}
	}
	return nil, errors.New("no LAN interface found: pass -iface (for a laptop without a LAN: -iface lo)")
}

// defaultRouteInterface reads /proc/net/route for the interface of the
// IPv4 default route.
func defaultRouteInterface() string {
	b, err := os.ReadFile("/proc/net/route")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 2 && f[1] == "00000000" {
			return f[0]
		}
	}
	return ""
}
