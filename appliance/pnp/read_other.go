//go:build !linux

package pnp

import (
	"net"
	"net/netip"

	"golang.org/x/net/ipv4"
)

// pcReader reads one datagram per call through golang.org/x/net/ipv4
// where recvmmsg(2) is not available.
type pcReader struct {
	pc  *ipv4.PacketConn
	buf []byte
}

func newReader(uc *net.UDPConn) (reader, error) {
	return &pcReader{pc: ipv4.NewPacketConn(uc), buf: make([]byte, MaxDatagram+1)}, nil
}

func (r *pcReader) read(fn func(data []byte, src netip.AddrPort, ifIndex int, dst netip.Addr, truncated bool)) error {
	n, cm, addr, err := r.pc.ReadFrom(r.buf)
	if err != nil {
		return err
	}
	ua, _ := addr.(*net.UDPAddr)
	if ua == nil || cm == nil {
		return nil
	}
	ip, _ := netip.AddrFromSlice(ua.IP)
	dst, _ := netip.AddrFromSlice(cm.Dst)
	fn(r.buf[:n], netip.AddrPortFrom(ip.Unmap(), uint16(ua.Port)), cm.IfIndex, dst.Unmap(), n > MaxDatagram)
	return nil
}
