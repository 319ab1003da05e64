package pnp

import (
	"net"

	"golang.org/x/sys/unix"
)

// growReadBuffer asks for a receive buffer of size bytes. When a whole
// office of phones boots at once their SUBSCRIBEs arrive within
// milliseconds; the default buffer (net.core.rmem_default, ~208 KiB) holds
// a couple of hundred, and the kernel drops the rest (Udp RcvbufErrors).
// SO_RCVBUFFORCE goes past net.core.rmem_max and needs CAP_NET_ADMIN (the
// box runs as root); without it SetReadBuffer gets what rmem_max allows.
// It returns the size the kernel granted.
func growReadBuffer(uc *net.UDPConn, size int) int {
	rc, err := uc.SyscallConn()
	if err != nil {
		return 0
	}
	forced := false
	rc.Control(func(fd uintptr) {
		forced = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, size) == nil
	})
	if !forced {
		uc.SetReadBuffer(size)
	}
	got := 0
	rc.Control(func(fd uintptr) {
		got, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
	})
	return got
}
