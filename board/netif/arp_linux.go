//go:build linux

package netif

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/mdlayher/packet"
)

// Probe timing. RFC 3927 §2.2 spreads three probes over 1–2 s gaps after
// a random wait of up to 1 s and then waits 2 s more; the box, which has
// already waited out DHCP, probes three times 1 s apart and listens 2 s
// after the last: a conflict still shows, in 4 s rather than 5–9.
const (
	probeCount = 3
	probeGap   = time.Second
	maxTries   = 10
)

// linkLocal picks a free 169.254/16 address for iface: candidates from
// the MAC, each checked with ARP probes; the first unanswered one wins and
// is announced.
func linkLocal(ctx context.Context, iface string, log *slog.Logger) (netip.Prefix, error) {
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("link-local on %s: %w", iface, err)
	}
	conn, err := packet.Listen(ifi, packet.Datagram, 0x0806, nil)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("link-local on %s: ARP socket: %w", iface, err)
	}
	defer conn.Close()
	for try := range maxTries {
		cand := linkLocalCandidate(ifi.HardwareAddr, try)
		inUse, err := probe(ctx, conn, ifi.HardwareAddr, cand)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("link-local on %s: probe %s: %w", iface, cand, err)
		}
		if inUse {
			log.Info("link-local address in use; trying another", "iface", iface, "addr", cand.String())
			continue
		}
		// Announce (RFC 3927 §2.4): an ARP request with sender = target.
		conn.WriteTo(arpPacket(1, ifi.HardwareAddr, cand, nil, cand), &packet.Addr{HardwareAddr: broadcastMAC})
		return netip.PrefixFrom(cand, 16), nil
	}
	return netip.Prefix{}, fmt.Errorf("link-local on %s: %d addresses tried, all in use", iface, maxTries)
}

var broadcastMAC = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// probe sends ARP probes for cand and reports whether anyone claims it:
// an ARP packet whose sender is cand, or another host's probe for it.
func probe(ctx context.Context, conn *packet.Conn, mac net.HardwareAddr, cand netip.Addr) (bool, error) {
	p := arpPacket(1, mac, netip.IPv4Unspecified(), nil, cand)
	buf := make([]byte, 1500)
	for i := range probeCount + 1 { // the last round only listens, so 2 s after the last probe
		if i < probeCount {
			if _, err := conn.WriteTo(p, &packet.Addr{HardwareAddr: broadcastMAC}); err != nil {
				return false, err
			}
		}
		end := time.Now().Add(probeGap)
		for {
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			conn.SetReadDeadline(end)
			n, _, err := conn.ReadFrom(buf)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					break
				}
				return false, err
			}
			if claims(buf[:n], mac, cand) {
				return true, nil
			}
		}
	}
	return false, nil
}

func claims(b []byte, mac net.HardwareAddr, cand netip.Addr) bool {
	if len(b) < 28 || binary.BigEndian.Uint16(b[0:]) != 1 || binary.BigEndian.Uint16(b[2:]) != 0x0800 {
		return false
	}
	sha, spa, tpa := net.HardwareAddr(b[8:14]), netip.AddrFrom4([4]byte(b[14:18])), netip.AddrFrom4([4]byte(b[24:28]))
	if bytes.Equal(sha, mac) {
		return false // our own
	}
	return spa == cand || (spa.IsUnspecified() && tpa == cand)
}

// arpPacket builds an Ethernet/IPv4 ARP packet (RFC 826).
func arpPacket(op uint16, sha net.HardwareAddr, spa netip.Addr, tha net.HardwareAddr, tpa netip.Addr) []byte {
	b := make([]byte, 28)
	binary.BigEndian.PutUint16(b[0:], 1)      // Ethernet
	binary.BigEndian.PutUint16(b[2:], 0x0800) // IPv4
	b[4], b[5] = 6, 4
	binary.BigEndian.PutUint16(b[6:], op)
	copy(b[8:14], sha)
	s, t := spa.As4(), tpa.As4()
	copy(b[14:18], s[:])
	copy(b[18:24], tha)
	copy(b[24:28], t[:])
	return b
}
