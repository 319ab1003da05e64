package netif

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
)

// State is one served interface as the box sees it now.
type State struct {
	Name     string
	Index    int // 0 when the interface does not exist
	Up       bool
	Carrier  bool // link: the cable is in and the other end is alive
	Loopback bool
	// Prefixes are the interface's IPv4 addresses with their subnets.
	Prefixes []netip.Prefix
	// Acquiring: DHCP is looking for a first lease and the fallback
	// timeout has not passed.
	Acquiring bool
}

// Problem says what stops the box from serving phones on this interface,
// in words an installer can act on, or "" when nothing does.
func (s State) Problem() string {
	switch {
	case s.Index == 0:
		return fmt.Sprintf("interface %s not found", s.Name)
	case !s.Up:
		return fmt.Sprintf("interface %s is down", s.Name)
	case !s.Carrier && !s.Loopback:
		return fmt.Sprintf("interface %s has no link (cable?)", s.Name)
	case len(s.Prefixes) == 0 && s.Acquiring:
		return fmt.Sprintf("interface %s is waiting for a DHCP lease", s.Name)
	case len(s.Prefixes) == 0:
		return fmt.Sprintf("interface %s has no IPv4 address", s.Name)
	}
	return ""
}

// WaitingForLease reports whether the interface has link but no address
// yet because DHCP is still asking: the box is starting, not broken.
func (s State) WaitingForLease() bool {
	return s.Acquiring && s.Index != 0 && s.Up && s.Carrier && len(s.Prefixes) == 0
}

func (s State) equal(o State) bool {
	return s.Name == o.Name && s.Index == o.Index && s.Up == o.Up && s.Carrier == o.Carrier &&
		s.Loopback == o.Loopback && s.Acquiring == o.Acquiring && slices.Equal(s.Prefixes, o.Prefixes)
}

func equalStates(a, b []State) bool {
	return slices.EqualFunc(a, b, State.equal)
}

func toPrefix(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	ip, ok := netip.AddrFromSlice(n.IP.To4())
	ones, bits := n.Mask.Size()
	if !ok || bits != 32 {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(ip, ones), true
}
