package netif

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"
)

// Mode says whether the box configures its interface.
type Mode string

// The modes of -net.
const (
	ModeNone   Mode = "none"   // leave addresses alone; only watch
	ModeDHCP   Mode = "dhcp"   // DHCP, falling back to Addr or link-local
	ModeStatic Mode = "static" // Addr and Gateway
)

// Config configures a Manager.
type Config struct {
	// Iface is the primary LAN interface: the one Mode applies to.
	Iface string
	// Extra interfaces are served as they are, whatever the mode.
	Extra []string
	Mode  Mode
	// Addr is the static address (ModeStatic) or the DHCP fallback
	// (ModeDHCP; zero: link-local). Gateway is the default route's
	// router for a static or fallback address.
	Addr    netip.Prefix
	Gateway netip.Addr
	// VLAN, when non-zero, is a voice VLAN served as well: the interface
	// <Iface>.<VLAN> is created (ModeDHCP, ModeStatic) or must exist
	// (ModeNone). In ModeDHCP it runs its own DHCP client falling back to
	// VLANAddr (no link-local there: two 169.254/16 subnets on one host
	// would make replies leave by the wrong interface); in ModeStatic it
	// gets VLANAddr.
	VLAN     int
	VLANAddr netip.Prefix
	// DHCPTimeout is how long DHCP may take before the fallback address
	// is used (default 30 s); DHCP keeps trying afterwards.
	DHCPTimeout time.Duration
	// Hostname is sent to the DHCP server (option 12).
	Hostname string
	// ResolvConf, when set, is the resolver file the primary interface's
	// DHCP lease writes its DNS servers to (symlinks followed: on the box
	// /etc/resolv.conf -> /run/resolv.conf on tmpfs). "": leave it alone.
	ResolvConf string
	Log        *slog.Logger
	// OnChange is called with the states of all served interfaces
	// whenever one changes (and once at the start), from the Manager's
	// goroutine.
	OnChange func([]State)
}

func (c *Config) check() error {
	if c.Iface == "" {
		return errors.New("no interface")
	}
	switch c.Mode {
	case ModeNone, ModeDHCP:
	case ModeStatic:
		if !c.Addr.IsValid() {
			return errors.New("mode static needs an address (Config.Addr)")
		}
		if c.VLAN != 0 && !c.VLANAddr.IsValid() {
			return errors.New("mode static with a VLAN needs a VLAN address (Config.VLANAddr)")
		}
	default:
		return fmt.Errorf("mode %q: want none, dhcp or static", c.Mode)
	}
	if c.Addr.IsValid() && (!c.Addr.Addr().Is4() || c.Addr.Bits() > 30 || c.Addr.Bits() < 8) {
		return fmt.Errorf("address %s: want an IPv4 address with a prefix length of 8 to 30", c.Addr)
	}
	if c.Gateway.IsValid() && (!c.Addr.IsValid() || !c.Addr.Contains(c.Gateway)) {
		return fmt.Errorf("gateway %s is not on the subnet of the address %s", c.Gateway, c.Addr)
	}
	if c.VLAN < 0 || c.VLAN > 4094 {
		return fmt.Errorf("VLAN %d: want 1 to 4094", c.VLAN)
	}
	if c.VLANAddr.IsValid() && c.VLAN == 0 {
		return errors.New("a VLAN address (Config.VLANAddr) without a VLAN (Config.VLAN)")
	}
	if c.DHCPTimeout <= 0 {
		c.DHCPTimeout = 30 * time.Second
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.OnChange == nil {
		c.OnChange = func([]State) {}
	}
	return nil
}

// VLANName is the name of the VLAN interface on parent.
func VLANName(parent string, id int) string {
	n := fmt.Sprintf("%s.%d", parent, id)
	if len(n) > 15 { // IFNAMSIZ-1
		n = fmt.Sprintf("vlan%d", id)
	}
	return n
}

// Manager configures and watches the served interfaces. Safe for
// concurrent use.
type Manager struct {
	cfg   Config
	log   *slog.Logger
	names []string

	mu        sync.Mutex
	states    []State
	acquiring map[string]bool
	changed   chan struct{} // closed and replaced on every change
	poke      chan struct{}
	clients   map[string]*dhcpClient

	// subscribe replaces the netlink subscriptions in tests (Linux).
	subscribe subscribeFunc
}

// New checks cfg and returns a Manager; nothing is touched before Setup.
func New(cfg Config) (*Manager, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	m := &Manager{cfg: cfg, log: cfg.Log, acquiring: map[string]bool{}, changed: make(chan struct{}),
		poke: make(chan struct{}, 1), clients: map[string]*dhcpClient{}}
	m.names = append(m.names, cfg.Iface)
	if cfg.VLAN != 0 {
		m.names = append(m.names, VLANName(cfg.Iface, cfg.VLAN))
	}
	if cfg.Mode == ModeDHCP {
		// Until its client runs, a DHCP interface without an address is
		// starting, not broken.
		for _, n := range m.names {
			m.acquiring[n] = true
		}
	}
	for _, n := range cfg.Extra {
		if n != "" && n != cfg.Iface {
			m.names = append(m.names, n)
		}
	}
	return m, nil
}

// Names returns the served interfaces: the primary, the VLAN, the extras.
func (m *Manager) Names() []string { return append([]string(nil), m.names...) }

// States returns the served interfaces' states, in Names order.
func (m *Manager) States() []State {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]State(nil), m.states...)
}

// WaitUp blocks until the interface name is up with link, or ctx is done.
func (m *Manager) WaitUp(ctx context.Context, name string) error {
	for {
		m.mu.Lock()
		ch := m.changed
		up := false
		for _, s := range m.states {
			if s.Name == name && s.Index != 0 && s.Up && (s.Carrier || s.Loopback) {
				up = true
			}
		}
		m.mu.Unlock()
		if up {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// setAcquiring records whether name's DHCP client is looking for its
// first lease, and refreshes the states.
func (m *Manager) setAcquiring(name string, on bool) {
	m.mu.Lock()
	m.acquiring[name] = on
	m.mu.Unlock()
	m.refreshSoon()
}

func (m *Manager) refreshSoon() {
	select {
	case m.poke <- struct{}{}:
	default:
	}
}

// publish stores states and tells OnChange when they differ.
func (m *Manager) publish(states []State) {
	m.mu.Lock()
	for i := range states {
		states[i].Acquiring = m.acquiring[states[i].Name]
	}
	if m.states != nil && equalStates(m.states, states) {
		m.mu.Unlock()
		return
	}
	m.states = states
	close(m.changed)
	m.changed = make(chan struct{})
	m.mu.Unlock()
	for _, s := range states {
		if p := s.Problem(); p != "" {
			m.log.Warn("LAN", "iface", s.Name, "problem", p)
		} else {
			m.log.Info("LAN", "iface", s.Name, "addresses", fmt.Sprint(s.Prefixes))
		}
	}
	m.cfg.OnChange(append([]State(nil), states...))
}
