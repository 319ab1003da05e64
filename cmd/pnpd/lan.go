package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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

// interfaces returns the interfaces -iface names (comma-separated), or the
// one board/netif picks when it names none, in pnpd's words.
func interfaces(o *options) ([]string, error) {
	var named []string
	if o.iface != "" {
		named = strings.Split(o.iface, ",")
	}
	names, err := netif.Choose(named, o.net != "none")
	switch {
	case err == nil:
		return names, nil
	case errors.Is(err, netif.ErrNoInterface) && o.iface != "":
		return nil, usagef("-iface %q: no interface named", o.iface)
	case errors.Is(err, netif.ErrNoInterface) && o.net != "none":
		return nil, fmt.Errorf("%w: pass -iface", err)
	case errors.Is(err, netif.ErrNoInterface):
		return nil, fmt.Errorf("%w: pass -iface (for a laptop without a LAN: -iface lo)", err)
	}
	return nil, fmt.Errorf("-iface: %w", err)
}
