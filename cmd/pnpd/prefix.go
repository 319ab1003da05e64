package main

import (
	"net"
	"net/netip"
)

// prefixOf turns an interface address into an IPv4 prefix that keeps the
// host address (192.0.2.1/24), or the zero Prefix for anything else.
func prefixOf(a net.Addr) netip.Prefix {
	ipn, ok := a.(*net.IPNet)
	if !ok {
		return netip.Prefix{}
	}
	ip4 := ipn.IP.To4()
	if ip4 == nil {
		return netip.Prefix{}
	}
	addr, _ := netip.AddrFromSlice(ip4)
	ones, bits := ipn.Mask.Size()
	if bits != 32 {
		return netip.Prefix{}
	}
	return netip.PrefixFrom(addr, ones)
}
