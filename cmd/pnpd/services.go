package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"

	"github.com/pnpbox/pnpbox/appliance/pnp"
	"github.com/pnpbox/pnpbox/appliance/provision"
	"github.com/pnpbox/pnpbox/appliance/store"
	"github.com/pnpbox/pnpbox/board/clock"
	"github.com/pnpbox/pnpbox/board/mdns"
	"github.com/pnpbox/pnpbox/board/netif"
	"github.com/pnpbox/pnpbox/board/watchdog"
)

// runWatchdog feeds /dev/watchdog (-watchdog, the box's init passes it)
// while the SIP server and the coordinator answer and the store can be
// read; a deadlock in any of them starves the dog and the board resets.
// Without -watchdog it returns at once.
func runWatchdog(ctx context.Context, o *options, st *store.Store, coord *provision.Coordinator, sip *pnp.Server, log *slog.Logger) error {
	if !o.watchdog {
		return nil
	}
	dog, err := watchdog.Open()
	if err != nil {
		return fmt.Errorf("-watchdog: %w", err)
	}
	f := &watchdog.Feeder{Dog: dog, Log: log, Healthy: func() error {
		sip.Stats()    // the SIP server's counters lock
		coord.Status() // the coordinator's lock
		if _, err := st.Events(store.EventFilter{Limit: 1}); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		return nil
	}}
	return f.Run(ctx)
}

// newResponder is the mDNS responder for the primary interface: the
// box's name (hostnameFor its MAC) .local and its page as _http._tcp on
// the -http port.
func newResponder(ifname, httpAddr string, log *slog.Logger) *mdns.Responder {
	port := 80
	if _, p, err := net.SplitHostPort(httpAddr); err == nil {
		if n, err := strconv.Atoi(p); err == nil {
			port = n
		}
	}
	return mdns.New(mdns.Config{Hostname: boxHostname(ifname), Iface: ifname, Port: port, Log: log})
}

// addrsOn returns the IPv4 addresses of the interface named ifname.
func addrsOn(states []netif.State, ifname string) []netip.Addr {
	var out []netip.Addr
	for _, s := range states {
		if s.Name == ifname {
			for _, p := range s.Prefixes {
				out = append(out, p.Addr())
			}
		}
	}
	return out
}

// runResponder runs r until ctx is done. mDNS is a convenience: if it
// cannot run (port 5353 taken, say) pnpd goes on without it.
func runResponder(ctx context.Context, r *mdns.Responder, log *slog.Logger) error {
	if err := r.Run(ctx); err != nil {
		log.Warn("mDNS responder stopped; the box is not findable as "+r.Name(), "err", err)
	}
	return nil
}

// newClock is the NTP client: the primary interface's DHCP lease's NTP
// servers (option 42), else the site's ntp_server setting, else the
// public pool.
func newClock(nm *netif.Manager, coord *provision.Coordinator, ifname string, log *slog.Logger) *clock.Clock {
	return &clock.Clock{Log: log, Servers: func() []string {
		var out []string
		if l := nm.Lease(ifname); l != nil {
			for _, a := range l.NTP {
				out = append(out, a.String())
			}
		}
		if s := coord.Settings().NTPServer; s != "" {
			out = append(out, s)
		}
		return append(out, clock.Pool)
	}}
}

// runClock sets the clock by NTP with -set-clock (the box); else the
// machine's own NTP daemon does.
func runClock(ctx context.Context, o *options, c *clock.Clock) error {
	if !o.setClock {
		return nil
	}
	return c.Run(ctx)
}

// timeSynced is /api/status's time_synced: whether pnpd has set the
// clock (-set-clock), else whether the kernel says the machine's own NTP
// daemon has.
func timeSynced(o *options, c *clock.Clock) bool {
	if o.setClock {
		return c.Synced()
	}
	return clock.KernelSynced()
}
