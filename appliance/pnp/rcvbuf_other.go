//go:build !linux

package pnp

import "net"

// growReadBuffer asks for a receive buffer of size bytes (see the Linux
// version for why); it returns 0, the size being unknown here.
func growReadBuffer(uc *net.UDPConn, size int) int {
	uc.SetReadBuffer(size)
	return 0
}
