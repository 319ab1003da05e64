package netif

import (
	"hash/fnv"
	"net"
	"net/netip"
)

// linkLocalCandidate returns the try-th address to probe from the range
// RFC 3927 §2.1 allows (169.254.1.0 to 169.254.254.255), derived from the
// MAC so a box comes back to the same address after a reboot.
func linkLocalCandidate(mac net.HardwareAddr, try int) netip.Addr {
	h := fnv.New32a()
	h.Write(mac)
	h.Write([]byte{byte(try), byte(try >> 8)})
	n := 0x0100 + h.Sum32()%(0xfeff-0x0100+1)
	return netip.AddrFrom4([4]byte{169, 254, byte(n >> 8), byte(n)})
}
