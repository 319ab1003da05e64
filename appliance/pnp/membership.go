// The interfaces the server answers on, the group membership on each, and
// which local address reaches a phone.

package pnp

import (
	"fmt"
	"net"
	"net/netip"
)

// SetInterfaces replaces the set of served interfaces and joins the group
// on any it has not joined yet. Membership is tied to the ifindex, so it
// survives address changes and link flaps; a re-created interface has a new
// index and is joined again. It returns the first join error; the server
// keeps serving unicast on interfaces it could not join.
func (s *Server) SetInterfaces(ifs []Interface) error {
	cp := append([]Interface(nil), ifs...)
	s.ifaces.Store(&cp)
	s.joinMu.Lock()
	defer s.joinMu.Unlock()
	var first error
	live := map[int]bool{}
	for _, ifc := range cp {
		live[ifc.Index] = true
		if s.joined[ifc.Index] || ifc.Loopback {
			continue // loopback has no multicast: served unicast-only
		}
		ni, err := net.InterfaceByIndex(ifc.Index)
		if err == nil {
			err = s.pc.JoinGroup(ni, &net.UDPAddr{IP: Group.AsSlice()})
		}
		if err != nil {
			if first == nil {
				first = fmt.Errorf("join %s on %s: %w", Group, ifc.Name, err)
			}
			continue
		}
		s.joined[ifc.Index] = true
		s.log.Info("joined SIP multicast group", "group", Group.String(), "iface", ifc.Name)
	}
	for idx := range s.joined {
		if !live[idx] {
			delete(s.joined, idx) // the kernel dropped it with the interface
		}
	}
	return first
}

// Joined reports whether the group is joined on every served interface
// that can do multicast (loopback cannot, and is served unicast-only).
func (s *Server) Joined() bool {
	s.joinMu.Lock()
	defer s.joinMu.Unlock()
	any := false
	for _, ifc := range *s.ifaces.Load() {
		if ifc.Loopback {
			continue
		}
		if !s.joined[ifc.Index] {
			return false
		}
		any = true
	}
	return any
}

// Interfaces returns the served interfaces.
func (s *Server) Interfaces() []Interface { return *s.ifaces.Load() }

// LocalAddrFor returns the box's address on the subnet that holds ip and
// the interface it is on; ok is false when ip is on no served subnet.
func (s *Server) LocalAddrFor(ip netip.Addr) (local netip.Addr, iface string, ok bool) {
	for _, ifc := range *s.ifaces.Load() {
		for _, p := range ifc.Prefixes {
			if p.Contains(ip) {
				return p.Addr(), ifc.Name, true
			}
		}
	}
	return netip.Addr{}, "", false
}

// own reports whether a is one of the box's addresses on ifs.
func own(ifs []Interface, a netip.Addr) bool {
	for i := range ifs {
		for _, p := range ifs[i].Prefixes {
			if p.Addr() == a {
				return true
			}
		}
	}
	return false
}

// FirstAddr returns the box's first address on its first served interface
// (for config URLs of phones not seen yet), or the zero Addr.
func (s *Server) FirstAddr() netip.Addr {
	for _, ifc := range *s.ifaces.Load() {
		for _, p := range ifc.Prefixes {
			return p.Addr()
		}
	}
	return netip.Addr{}
}

// JoinedOn reports whether the group is joined on the interface with index
// idx.
func (s *Server) JoinedOn(idx int) bool {
	s.joinMu.Lock()
	defer s.joinMu.Unlock()
	return s.joined[idx]
}
