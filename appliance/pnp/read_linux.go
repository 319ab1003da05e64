package pnp

import (
	"encoding/binary"
	"net"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// readBatch is how many datagrams one recvmmsg(2) takes at most. Under a
// flood the loop reads 32 at a time for one system call; a lone phone's
// SUBSCRIBE is returned at once, alone.
const readBatch = 32

// batchReader reads datagrams with recvmmsg(2) into buffers allocated
// once: no allocation per datagram, so a flood costs a system call per
// batch and the filter's few comparisons per datagram, not garbage.
// golang.org/x/net's ReadBatch allocates the source address and control
// message of each datagram (13 allocations per datagram with ReadFrom).
// Not safe for concurrent use.
type batchReader struct {
	rc    syscall.RawConn
	hdrs  [readBatch]mmsghdr
	iovs  [readBatch]unix.Iovec
	names [readBatch]unix.RawSockaddrInet4
	oobs  [readBatch][64]byte
	bufs  [readBatch][MaxDatagram + 1]byte
	n     int // datagrams in the last batch
	errno syscall.Errno
}

// mmsghdr is struct mmsghdr (recvmmsg(2)).
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
}

func newReader(uc *net.UDPConn) (reader, error) {
	rc, err := uc.SyscallConn()
	if err != nil {
		return nil, err
	}
	r := &batchReader{rc: rc}
	for i := range r.hdrs {
		r.iovs[i].Base = &r.bufs[i][0]
		r.iovs[i].SetLen(len(r.bufs[i]))
		h := &r.hdrs[i].hdr
		h.Name = (*byte)(unsafe.Pointer(&r.names[i]))
		h.Iov = &r.iovs[i]
		h.SetIovlen(1)
		h.Control = &r.oobs[i][0]
	}
	return r, nil
}

// read fills the next batch, blocking until at least one datagram is
// there, and calls fn for each. It returns the socket's error once it is
// closed.
func (r *batchReader) read(fn func(data []byte, src netip.AddrPort, ifIndex int, dst netip.Addr, truncated bool)) error {
	err := r.rc.Read(r.recv)
	if err != nil {
		return err
	}
	if r.errno != 0 {
		return r.errno
	}
	for i := range r.n {
		h := &r.hdrs[i]
		name := &r.names[i]
		if h.hdr.Namelen < uint32(unix.SizeofSockaddrInet4) || name.Family != unix.AF_INET {
			continue
		}
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&name.Port))[:])
		src := netip.AddrPortFrom(netip.AddrFrom4(name.Addr), port)
		ifIndex, dst := pktinfo(r.oobs[i][:h.hdr.Controllen])
		n := int(h.len)
		fn(r.bufs[i][:min(n, MaxDatagram+1)], src, ifIndex, dst, h.hdr.Flags&unix.MSG_TRUNC != 0)
	}
	return nil
}

// recv is the raw read: one recvmmsg without blocking; false asks the
// runtime's poller to wait for the socket to be readable.
func (r *batchReader) recv(fd uintptr) bool {
	for i := range r.hdrs {
		r.hdrs[i].hdr.Namelen = unix.SizeofSockaddrInet4
		r.hdrs[i].hdr.SetControllen(len(r.oobs[i]))
		r.hdrs[i].hdr.Flags = 0
	}
	n, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&r.hdrs[0])), readBatch, unix.MSG_DONTWAIT, 0, 0)
	if e == unix.EAGAIN || e == unix.EINTR {
		return false
	}
	r.n, r.errno = int(n), 0
	if e != 0 {
		r.n, r.errno = 0, e
	}
	return true
}

// pktinfo takes the arrival interface and header destination address
// from the IP_PKTINFO control message (ip(7)), without allocating.
func pktinfo(oob []byte) (ifIndex int, dst netip.Addr) {
	for len(oob) >= unix.SizeofCmsghdr {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < unix.SizeofCmsghdr || l > len(oob) {
			return 0, netip.Addr{}
		}
		if h.Level == unix.IPPROTO_IP && h.Type == unix.IP_PKTINFO && l >= unix.CmsgLen(unix.SizeofInet4Pktinfo) {
			pi := (*unix.Inet4Pktinfo)(unsafe.Pointer(&oob[unix.CmsgLen(0)]))
			return int(pi.Ifindex), netip.AddrFrom4(pi.Addr)
		}
		oob = oob[min(len(oob), unix.CmsgSpace(l-unix.CmsgLen(0))):]
	}
	return 0, netip.Addr{}
}
