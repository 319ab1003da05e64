//go:build linux

package netif

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
)

// Setup brings the managed interfaces up, creates the VLAN and installs
// static addresses. In ModeNone it only checks that the interfaces exist.
// Errors name the interface and say what to do.
func (m *Manager) Setup(ctx context.Context) error {
	cfg := m.cfg
	parent, err := netlink.LinkByName(cfg.Iface)
	if err != nil {
		return fmt.Errorf("interface %s: %w (interfaces here: %s)", cfg.Iface, err, linkNames())
	}
	managed := cfg.Mode != ModeNone
	if managed {
		if err := netlink.LinkSetUp(parent); err != nil {
			return fmt.Errorf("bring %s up: %w", cfg.Iface, err)
		}
	}
	if cfg.VLAN != 0 {
		if err := m.setupVLAN(parent); err != nil {
			return err
		}
	}
	if cfg.Mode == ModeStatic {
		if err := (&nlAddrs{name: cfg.Iface, route: true}).install(cfg.Addr, 0, cfg.Gateway); err != nil {
			return err
		}
		if cfg.VLAN != 0 {
			if err := (&nlAddrs{name: m.names[1]}).install(cfg.VLANAddr, 0, netip.Addr{}); err != nil {
				return err
			}
		}
	}
	m.refresh()
	return nil
}

func (m *Manager) setupVLAN(parent netlink.Link) error {
	cfg := m.cfg
	name := VLANName(cfg.Iface, cfg.VLAN)
	if l, err := netlink.LinkByName(name); err == nil {
		v, ok := l.(*netlink.Vlan)
		if !ok || v.VlanId != cfg.VLAN || v.ParentIndex != parent.Attrs().Index {
			return fmt.Errorf("interface %s exists but is not VLAN %d on %s", name, cfg.VLAN, cfg.Iface)
		}
		if cfg.Mode != ModeNone {
			if err := netlink.LinkSetUp(l); err != nil {
				return fmt.Errorf("bring %s up: %w", name, err)
			}
		}
		return nil
	}
	if cfg.Mode == ModeNone {
		return fmt.Errorf("VLAN interface %s does not exist, and mode %s creates nothing: create it, or use mode %s or %s", name, ModeNone, ModeDHCP, ModeStatic)
	}
	v := &netlink.Vlan{LinkAttrs: netlink.LinkAttrs{Name: name, ParentIndex: parent.Attrs().Index}, VlanId: cfg.VLAN}
	if err := netlink.LinkAdd(v); err != nil {
		if errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.ENOTSUP) {
			return fmt.Errorf("create VLAN %s: the kernel has no 802.1Q support (CONFIG_VLAN_8021Q): %w", name, err)
		}
		return fmt.Errorf("create VLAN %s: %w", name, err)
	}
	if err := netlink.LinkSetUp(v); err != nil {
		return fmt.Errorf("bring %s up: %w", name, err)
	}
	m.log.Info("created VLAN interface", "iface", name, "vlan", cfg.VLAN)
	return nil
}

// Run watches the interfaces through netlink, runs the DHCP clients in
// ModeDHCP, and keeps managed links up, until ctx is done. Addresses stay
// when it returns: a restarted pnpd keeps its address.
func (m *Manager) Run(ctx context.Context) error {
	if m.cfg.Mode == ModeDHCP {
		managed := m.names[:1] // the primary, and the VLAN after it
		if m.cfg.VLAN != 0 {
			managed = m.names[:2]
		}
		for i, name := range managed {
			c := newDHCPClient(name, &ncWire{iface: name, hostname: m.cfg.Hostname}, &nlAddrs{name: name, route: i == 0}, m.log)
			c.timeout = m.cfg.DHCPTimeout
			c.onAcquiring = func(on bool) { m.setAcquiring(name, on) }
			if i == 0 {
				c.onBound = m.primaryLease
			}
			switch {
			case i == 0 && m.cfg.Addr.IsValid():
				p, gw := m.cfg.Addr, m.cfg.Gateway
				c.fallback = func(context.Context) (netip.Prefix, error) { return p, nil }
				c.addrs = &nlAddrs{name: name, route: true, fallbackGW: gw}
			case i == 0:
				c.fallback = func(ctx context.Context) (netip.Prefix, error) { return linkLocal(ctx, name, m.log) }
			case m.cfg.VLANAddr.IsValid():
				p := m.cfg.VLANAddr
				c.fallback = func(context.Context) (netip.Prefix, error) { return p, nil }
			}
			m.mu.Lock()
			m.clients[name] = c
			m.mu.Unlock()
			go c.run(ctx)
		}
	}
	m.watch(ctx)
	return nil
}

// watch follows link and address changes. A subscription's channel is
// closed by netlink on any receive error (ENOBUFS after a burst, say), so
// it re-subscribes, with ListExisting so nothing between the two is
// missed (reference/go-stack.md §3). A slow periodic refresh is the last
// safety net.
func (m *Manager) watch(ctx context.Context) {
	subscribe := m.subscribe
	if subscribe == nil {
		subscribe = m.netlinkSubscribe
	}
	for ctx.Err() == nil {
		done := make(chan struct{})
		links := make(chan netlink.LinkUpdate, 256)
		addrs := make(chan netlink.AddrUpdate, 256)
		err := subscribe(links, addrs, done)
		if err != nil {
			close(done)
			m.log.Error("netlink subscribe; polling until it works", "err", err)
			m.refresh()
			select {
			case <-ctx.Done():
				return
			case <-time.After(2 * time.Second):
			}
			continue
		}
		m.refresh()
		tick := time.NewTicker(30 * time.Second)
	loop:
		for {
			select {
			case <-ctx.Done():
				break loop
			case _, ok := <-links:
				if !ok {
					break loop
				}
			case _, ok := <-addrs:
				if !ok {
					break loop
				}
			case <-m.poke:
			case <-tick.C:
			}
			drain(links, addrs)
			m.refresh()
		}
		tick.Stop()
		close(done)
		if ctx.Err() == nil {
			m.log.Warn("netlink subscription closed; subscribing again")
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// netlinkSubscribe subscribes to link and address changes, listing what
// exists first so nothing between a refresh and the subscription is lost.
func (m *Manager) netlinkSubscribe(links chan netlink.LinkUpdate, addrs chan netlink.AddrUpdate, done chan struct{}) error {
	onErr := func(err error) {
		select {
		case <-done: // closing the subscription makes its receive fail
		default:
			m.log.Warn("netlink subscription", "err", err)
		}
	}
	err := netlink.LinkSubscribeWithOptions(links, done, netlink.LinkSubscribeOptions{
		ListExisting: true, ErrorCallback: onErr, ReceiveBufferSize: 1 << 20})
	if err != nil {
		return err
	}
	return netlink.AddrSubscribeWithOptions(addrs, done, netlink.AddrSubscribeOptions{
		ListExisting: true, ErrorCallback: onErr, ReceiveBufferSize: 1 << 20})
}

// drain takes what else is queued, so a burst costs one refresh.
func drain(links chan netlink.LinkUpdate, addrs chan netlink.AddrUpdate) {
	for {
		select {
		case _, ok := <-links:
			if !ok {
				return
			}
		case _, ok := <-addrs:
			if !ok {
				return
			}
		default:
			return
		}
	}
}

// refresh reads the served interfaces' state and publishes it.
func (m *Manager) refresh() {
	states := make([]State, 0, len(m.names))
	for i, name := range m.names {
		s := State{Name: name}
		l, err := netlink.LinkByName(name)
		if err == nil {
			a := l.Attrs()
			s.Index = a.Index
			s.Up = a.Flags&net.FlagUp != 0
			s.Carrier = a.Flags&net.FlagRunning != 0
			s.Loopback = a.Flags&net.FlagLoopback != 0
			s.Prefixes = addrList(l)
			managed := m.cfg.Mode != ModeNone && (i == 0 || (m.cfg.VLAN != 0 && i == 1))
			if managed && !s.Up {
				m.log.Warn("managed interface is down; bringing it up", "iface", name)
				if err := netlink.LinkSetUp(l); err != nil {
					m.log.Error("bring interface up", "iface", name, "err", err)
				}
			}
		}
		m.mu.Lock()
		c := m.clients[name]
		m.mu.Unlock()
		if c != nil {
			c.setCarrier(s.Index != 0 && s.Up && s.Carrier)
		}
		states = append(states, s)
	}
	m.publish(states)
}

// addrList returns l's IPv4 prefixes, retrying a dump the kernel
// interrupted (netlink.ErrDumpInterrupted comes with partial results).
func addrList(l netlink.Link) []netip.Prefix {
	var addrs []netlink.Addr
	var err error
	for range 5 {
		addrs, err = netlink.AddrList(l, netlink.FAMILY_V4)
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	var out []netip.Prefix
	for _, a := range addrs {
		if p, ok := toPrefix(a.IPNet); ok {
			out = append(out, p)
		}
	}
	return out
}

func toIPNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), 32)}
}

func linkNames() string {
	links, err := netlink.LinkList()
	if err != nil {
		return "unknown"
	}
	var n []string
	for _, l := range links {
		n = append(n, l.Attrs().Name)
	}
	return strings.Join(n, ", ")
}

// nlAddrs installs addresses on one interface through netlink.
type nlAddrs struct {
	name  string
	route bool // this interface carries the default route
	// fallbackGW is the router for an address installed without one
	// (the static fallback's -gw).
	fallbackGW netip.Addr
}

func (a *nlAddrs) install(p netip.Prefix, valid time.Duration, router netip.Addr) error {
	l, err := netlink.LinkByName(a.name)
	if err != nil {
		return fmt.Errorf("install %s on %s: %w", p, a.name, err)
	}
	addr := &netlink.Addr{IPNet: toIPNet(p)}
	if valid > 0 {
		s := int(valid.Seconds())
		addr.ValidLft, addr.PreferedLft = s, s
	}
	if err := netlink.AddrReplace(l, addr); err != nil {
		return fmt.Errorf("install %s on %s: %w", p, a.name, err)
	}
	if !router.IsValid() && valid == 0 {
		router = a.fallbackGW
	}
	if a.route && router.IsValid() {
		r := &netlink.Route{LinkIndex: l.Attrs().Index, Gw: router.AsSlice()}
		if err := netlink.RouteReplace(r); err != nil {
			return fmt.Errorf("default route via %s on %s: %w", router, a.name, err)
		}
	}
	return nil
}

func (a *nlAddrs) remove(p netip.Prefix) error {
	l, err := netlink.LinkByName(a.name)
	if err != nil {
		return nil // the interface is gone, and the address with it
	}
	if err := netlink.AddrDel(l, &netlink.Addr{IPNet: toIPNet(p)}); err != nil && !errors.Is(err, syscall.EADDRNOTAVAIL) {
		return fmt.Errorf("remove %s from %s: %w", p, a.name, err)
	}
	return nil
}
