package mdns

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/pnpbox/pnpbox/internal/netnstest"
)

// The box's responder in one namespace, a listener and a querier in
// another, joined by a veth: real multicast, as on a LAN. The
// announcements follow an address change, come from port 5353 and carry
// the cache-flush bit; a query from an ordinary port is answered.
func TestAnnounceAndAnswer(t *testing.T) {
	netnstest.Require(t)
	box, peer := netnstest.New(t, "pnpbox-mdns-box"), netnstest.New(t, "pnpbox-mdns-peer")
	netnstest.Cable(t, box, "lan0", peer, "lan0")
	box.IP(t, "addr", "add", "198.18.0.1/24", "dev", "lan0")
	peer.IP(t, "addr", "add", "198.18.0.9/24", "dev", "lan0")
	for _, ns := range []*netnstest.NS{box, peer} {
		ns.IP(t, "route", "add", "224.0.0.0/4", "dev", "lan0")
	}

	listen, err := netnstest.Do(peer, func() (*net.UDPConn, error) {
		ifi, err := net.InterfaceByName("lan0")
		if err != nil {
			return nil, err
		}
		return net.ListenMulticastUDP("udp4", ifi, net.UDPAddrFromAddrPort(Group))
	})
	if err != nil {
		t.Fatal(err)
	}
	defer listen.Close()

	r := New(Config{Hostname: "pnpbox-test", Iface: "lan0", Port: 8080})
	r.SetAddrs([]netip.Addr{netip.MustParseAddr("198.18.0.1")})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := netnstest.Do(box, func() (struct{}, error) { return struct{}{}, r.Run(ctx) })
		done <- err
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	// announced waits for an announcement whose A record is want.
	announced := func(want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		buf := make([]byte, 9000)
		for time.Now().Before(deadline) {
			listen.SetReadDeadline(deadline)
			n, from, err := listen.ReadFromUDP(buf)
			if err != nil {
				break
			}
			var m dns.Msg
			if m.Unpack(buf[:n]) != nil || !m.Response {
				continue
			}
			for _, rr := range m.Answer {
				if a, ok := rr.(*dns.A); ok && a.A.String() == want {
					if from.Port != 5353 {
						t.Errorf("announcement from port %d, want 5353 (RFC 6762 §6)", from.Port)
					}
					if a.Hdr.Class != dns.ClassINET|1<<15 {
						t.Errorf("A record class %#x, want IN with cache-flush", a.Hdr.Class)
					}
					return
				}
			}
		}
		t.Fatalf("no announcement of pnpbox-test.local as %s", want)
	}
	announced("198.18.0.1")
	r.SetAddrs([]netip.Addr{netip.MustParseAddr("198.18.0.2")})
	announced("198.18.0.2")

	// A one-shot query from an ordinary port (RFC 6762 §5.1), as a
	// simple resolver sends.
	q := new(dns.Msg)
	q.SetQuestion("pnpbox-test.local.", dns.TypeA)
	conn, err := netnstest.Do(peer, func() (*net.UDPConn, error) { return net.ListenUDP("udp4", &net.UDPAddr{}) })
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	b, _ := q.Pack()
	var got string
	for try := 0; try < 5 && got == ""; try++ {
		conn.WriteToUDP(b, net.UDPAddrFromAddrPort(Group))
		conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 9000)
		n, _, err := conn.ReadFromUDP(buf)
		if err != nil {
			continue
		}
		var m dns.Msg
		if m.Unpack(buf[:n]) == nil {
			for _, rr := range m.Answer {
				if a, ok := rr.(*dns.A); ok {
					got = a.A.String()
				}
			}
		}
	}
	if got != "198.18.0.2" {
		t.Errorf("query for pnpbox-test.local: A %q, want 198.18.0.2", got)
	}
}
