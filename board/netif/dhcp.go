package netif

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Lease is an address handed out by a DHCP server.
type Lease struct {
	Addr   netip.Prefix
	Router netip.Addr // zero when the server names none
	Server netip.Addr // the server identifier (option 54)
	DNS    []netip.Addr
	NTP    []netip.Addr // NTP servers (option 42)
	// Time is the lease time (option 51); T1 and T2 the renewal and
	// rebinding times (options 58, 59), defaulting to 1/2 and 7/8 of it
	// (RFC 2131 §4.4.5).
	Time, T1, T2 time.Duration
	Acquired     time.Time

	raw any // the wire's own record (nclient4's lease), for renewals
}

func (l *Lease) expires() time.Time { return l.Acquired.Add(l.Time) }

// ErrNAK is a server's DHCPNAK: the address is not ours (any more).
var ErrNAK = errors.New("DHCP server refused the address (NAK)")

// dhcpWire sends DHCP messages and waits for the answers. Each call is
// bounded by ctx.
type dhcpWire interface {
	// Acquire runs DISCOVER/OFFER/REQUEST/ACK, asking for hint if valid
	// (INIT-REBOOT after a link flap, RFC 2131 §3.2).
	Acquire(ctx context.Context, hint netip.Addr) (*Lease, error)
	// Renew asks the lease's server, by unicast (RENEWING).
	Renew(ctx context.Context, l *Lease) (*Lease, error)
	// Rebind asks any server, by broadcast (REBINDING).
	Rebind(ctx context.Context, l *Lease) (*Lease, error)
}

// addrSetter installs and removes the client's address. valid is the
// lifetime the kernel enforces (0: forever), so a lease that is never
// renewed goes away even if this process does not.
type addrSetter interface {
	install(p netip.Prefix, valid time.Duration, router netip.Addr) error
	remove(p netip.Prefix) error
}

// dhcpClient is the RFC 2131 client state machine for one interface.
// Time comes from the time package, so tests run it under synctest.
type dhcpClient struct {
	name    string
	wire    dhcpWire
	addrs   addrSetter
	log     *slog.Logger
	timeout time.Duration // no lease by then: fall back
	// fallback returns the address to use without a lease (static, or a
	// probed link-local one); nil means none.
	fallback    func(ctx context.Context) (netip.Prefix, error)
	onAcquiring func(bool)
	onBound     func(*Lease) // nil: nothing; called with c.mu held

	carrier atomic.Bool
	downs   atomic.Uint64 // counts link losses, so a quick flap is not missed
	sig     chan struct{}

	mu    sync.Mutex
	lease *Lease       // current lease, nil without one
	inst  netip.Prefix // the address installed (lease or fallback)
	fb    bool         // inst is the fallback
}

func newDHCPClient(name string, wire dhcpWire, addrs addrSetter, log *slog.Logger) *dhcpClient {
	return &dhcpClient{name: name, wire: wire, addrs: addrs, log: log, timeout: 30 * time.Second,
		sig: make(chan struct{}, 1), onAcquiring: func(bool) {}}
}

// setCarrier tells the client whether the link is up.
func (c *dhcpClient) setCarrier(up bool) {
	if c.carrier.Swap(up) == up {
		return
	}
	if !up {
		c.downs.Add(1)
	}
	select {
	case c.sig <- struct{}{}:
	default:
	}
}

// current returns the lease, or nil.
func (c *dhcpClient) current() *Lease {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lease
}

var (
	errLinkDown = errors.New("link down")
	errExpired  = errors.New("lease expired")
)

// run is the state machine; it returns when ctx is done.
func (c *dhcpClient) run(ctx context.Context) {
	for {
		if !c.waitCarrier(ctx) {
			return
		}
		gen := c.downs.Load()
		l, err := c.acquire(ctx, gen)
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, errLinkDown):
			c.onAcquiring(false) // the missing link is the news now
			continue
		case err != nil:
			// errExpired: the old lease ran out while re-acquiring.
			c.drop("lease expired without renewal")
			continue
		}
		c.bind(l)
		c.onAcquiring(false)
		switch err := c.bound(ctx, gen); {
		case ctx.Err() != nil:
			return
		case errors.Is(err, errLinkDown):
			c.log.Info("DHCP: link lost; will ask for the address again when it returns", "iface", c.name)
		case errors.Is(err, ErrNAK):
			c.drop("server sent NAK")
		default:
			c.drop(err.Error())
		}
	}
}

func (c *dhcpClient) waitCarrier(ctx context.Context) bool {
	for !c.carrier.Load() {
		select {
		case <-ctx.Done():
			return false
		case <-c.sig:
		}
	}
	return true
}

// linkLost reports whether the link went down since generation gen.
func (c *dhcpClient) linkLost(gen uint64) bool { return c.downs.Load() != gen || !c.carrier.Load() }

// acquire gets a lease (INIT, or INIT-REBOOT with the old address as the
// hint), retrying with growing pauses. Without a lease or a fallback, the
// fallback is installed after c.timeout; a lease still held expires on
// its own time.
func (c *dhcpClient) acquire(ctx context.Context, gen uint64) (*Lease, error) {
	c.mu.Lock()
	hint, old, fb := c.inst.Addr(), c.lease, c.fb
	c.mu.Unlock()
	var fallbackC, expireC <-chan time.Time
	if old == nil && !fb {
		c.onAcquiring(true) // run clears it once an address is in place
		t := time.NewTimer(c.timeout)
		defer t.Stop()
		fallbackC = t.C
	}
	if old != nil {
		t := time.NewTimer(time.Until(old.expires()))
		defer t.Stop()
		expireC = t.C
	}
	pause := time.Second
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithCancel(ctx)
		res := make(chan struct {
			l   *Lease
			err error
		}, 1)
		go func() {
			l, err := c.wire.Acquire(actx, hint)
			res <- struct {
				l   *Lease
				err error
			}{l, err}
		}()
	wait:
		for {
			select {
			case <-ctx.Done():
				cancel()
				<-res
				return nil, ctx.Err()
			case <-c.sig:
				if c.linkLost(gen) {
					cancel()
					<-res
					return nil, errLinkDown
				}
			case <-expireC:
				expireC = nil
				cancel()
				<-res
				return nil, errExpired
			case <-fallbackC:
				fallbackC = nil
				c.useFallback(ctx)
				c.onAcquiring(false)
			case r := <-res:
				cancel()
				if r.err == nil {
					return r.l, nil
				}
				c.log.Debug("DHCP: no lease", "iface", c.name, "attempt", attempt, "err", r.err)
				break wait
			}
		}
		// Pause between attempts, still watching the link and the timers.
		pt := time.NewTimer(pause)
		pause = min(2*pause, 30*time.Second)
	sleep:
		for {
			select {
			case <-ctx.Done():
				pt.Stop()
				return nil, ctx.Err()
			case <-c.sig:
				if c.linkLost(gen) {
					pt.Stop()
					return nil, errLinkDown
				}
			case <-expireC:
				pt.Stop()
				return nil, errExpired
			case <-fallbackC:
				fallbackC = nil
				c.useFallback(ctx)
				c.onAcquiring(false)
			case <-pt.C:
				break sleep
			}
		}
	}
}

// useFallback installs the fallback address, if there is one.
func (c *dhcpClient) useFallback(ctx context.Context) {
	if c.fallback == nil {
		c.log.Warn("DHCP: no lease yet and no fallback address; still asking", "iface", c.name, "after", c.timeout)
		return
	}
	p, err := c.fallback(ctx)
	if err != nil {
		c.log.Warn("DHCP: no lease and no fallback address", "iface", c.name, "err", err)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.addrs.install(p, 0, netip.Addr{}); err != nil {
		c.log.Error("DHCP: install fallback address", "iface", c.name, "addr", p.String(), "err", err)
		return
	}
	c.inst, c.fb = p, true
	c.log.Warn("DHCP: no lease; using the fallback address until a server answers", "iface", c.name, "addr", p.String(), "after", c.timeout)
}

// bind installs a new or renewed lease, removing an address it replaces.
func (c *dhcpClient) bind(l *Lease) {
	c.mu.Lock()
	defer c.mu.Unlock()
	valid := time.Until(l.expires()).Round(time.Second)
	if err := c.addrs.install(l.Addr, max(valid, time.Second), l.Router); err != nil {
		c.log.Error("DHCP: install address", "iface", c.name, "addr", l.Addr.String(), "err", err)
	}
	if c.inst.IsValid() && c.inst != l.Addr {
		if err := c.addrs.remove(c.inst); err != nil {
			c.log.Warn("DHCP: remove old address", "iface", c.name, "addr", c.inst.String(), "err", err)
		}
	}
	if c.lease == nil || c.lease.Addr != l.Addr {
		c.log.Info("DHCP lease", "iface", c.name, "addr", l.Addr.String(), "router", l.Router.String(),
			"server", l.Server.String(), "lease", l.Time, "t1", l.T1, "t2", l.T2)
	} else {
		c.log.Debug("DHCP lease renewed", "iface", c.name, "addr", l.Addr.String(), "lease", l.Time)
	}
	c.lease, c.inst, c.fb = l, l.Addr, false
	if c.onBound != nil {
		c.onBound(l)
	}
}

// drop removes the address after a NAK or an expiry.
func (c *dhcpClient) drop(why string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inst.IsValid() {
		if err := c.addrs.remove(c.inst); err != nil {
			c.log.Warn("DHCP: remove address", "iface", c.name, "addr", c.inst.String(), "err", err)
		}
	}
	c.log.Warn("DHCP: address given up; asking for a new lease", "iface", c.name, "addr", c.inst.String(), "why", why)
	c.lease, c.inst, c.fb = nil, netip.Prefix{}, false
}

// bound holds the lease: RENEWING from T1, REBINDING from T2, until it
// expires, a NAK arrives, or the link goes down.
func (c *dhcpClient) bound(ctx context.Context, gen uint64) error {
	for {
		l := c.current()
		t1, t2, exp := l.Acquired.Add(l.T1), l.Acquired.Add(l.T2), l.expires()
		if err := c.sleepUntil(ctx, gen, t1); err != nil {
			return err
		}
		renewed := false
		for _, ph := range []struct {
			until time.Time
			name  string
			do    func(context.Context, *Lease) (*Lease, error)
		}{{t2, "renew", c.wire.Renew}, {exp, "rebind", c.wire.Rebind}} {
			for !renewed && time.Now().Before(ph.until) {
				actx, cancel := context.WithDeadline(ctx, ph.until)
				nl, err := c.try(actx, gen, l, ph.do)
				cancel()
				switch {
				case err == nil:
					c.bind(nl)
					renewed = true
				case errors.Is(err, ErrNAK), errors.Is(err, errLinkDown), ctx.Err() != nil:
					return err
				default:
					c.log.Debug("DHCP: "+ph.name+" unanswered", "iface", c.name, "err", err)
					// RFC 2131 §4.4.5: wait half the remaining time, at
					// least 60 s, before asking again.
					left := time.Until(ph.until)
					next := time.Now().Add(max(left/2, min(60*time.Second, left)))
					if err := c.sleepUntil(ctx, gen, next); err != nil {
						return err
					}
				}
			}
		}
		if !renewed {
			return errExpired
		}
	}
}

// try runs one renew or rebind exchange, abandoning it if the link goes.
func (c *dhcpClient) try(ctx context.Context, gen uint64, l *Lease, do func(context.Context, *Lease) (*Lease, error)) (*Lease, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		l   *Lease
		err error
	}
	res := make(chan result, 1)
	go func() {
		nl, err := do(ctx, l)
		res <- result{nl, err}
	}()
	for {
		select {
		case r := <-res:
			return r.l, r.err
		case <-c.sig:
			if c.linkLost(gen) {
				cancel()
				<-res
				return nil, errLinkDown
			}
		}
	}
}

func (c *dhcpClient) sleepUntil(ctx context.Context, gen uint64, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.sig:
			if c.linkLost(gen) {
				return errLinkDown
			}
		case <-tm.C:
			return nil
		}
	}
}

// leaseTimes fills T1 and T2 from the lease time where the server gave
// none or nonsense (RFC 2131 §4.4.5).
func leaseTimes(lt, t1, t2 time.Duration) (time.Duration, time.Duration, time.Duration) {
	if lt <= 0 {
		lt = time.Hour
	}
	if t1 <= 0 || t1 >= lt {
		t1 = lt / 2
	}
	if t2 <= t1 || t2 >= lt {
		t2 = lt * 7 / 8
	}
	return lt, t1, t2
}

func (l *Lease) String() string {
	return fmt.Sprintf("%s from %s for %s", l.Addr, l.Server, l.Time)
}
