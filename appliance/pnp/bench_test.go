package pnp

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// BenchmarkAnswer is the per-SUBSCRIBE cost of the SIP side: parse the
// datagram and build the 200 OK and the Discovery.
func BenchmarkAnswer(b *testing.B) {
	data := mustRead(b, "grandstream_gxp2140.sip")
	pkt := pktFrom("172.18.0.77:5060")
	parser := sip.NewParser()
	b.ReportAllocs()
	for b.Loop() {
		msg, err := parser.ParseSIP(data)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, d, _ := Answer(msg.(*sip.Request), pkt, testKey, "pnpbox"); d == nil {
			b.Fatal("no discovery")
		}
	}
}

// BenchmarkAnswerScanned is BenchmarkAnswer as the read loop does it now:
// the scanner reads the datagram (no sipgo parse) and the 200 OK and the
// Discovery are built from what it read.
func BenchmarkAnswerScanned(b *testing.B) {
	data := mustRead(b, "grandstream_gxp2140.sip")
	pkt := pktFrom("172.18.0.77:5060")
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, d, _, ok := appendScannedAnswer(buf[:0], data, pkt, testKey, "pnpbox"); !ok || d == nil {
			b.Fatal("no discovery")
		}
	}
}

func BenchmarkBuildNotify(b *testing.B) {
	req := parseReq(b, mustRead(b, "grandstream_gxp2140.sip"))
	_, _, d, _ := Answer(req, pktFrom("172.18.0.77:5060"), testKey, "x")
	n := NotifyRequest{Dialog: d.Dialog, CSeq: 1, Branch: "z9hG4bK.bench", LocalPort: 5060,
		URL: "http://192.0.2.1:80/p/0123456789abcdef0123456789abcdef/cfg000B82273B89"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := BuildNotify(n); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHandle is the whole per-datagram cost after the read: filter,
// parse, answer, send the 200 (to a socket nobody reads) and report a new
// transaction. The per-source limit is off, as for sipp from one host.
func BenchmarkHandle(b *testing.B) {
	srv, err := Listen(Config{PerSourceRate: Unlimited, OnDiscovery: func(Discovery) bool { return true }})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	srv.ifaces.Store(&[]Interface{{Name: "lo", Index: 1, Prefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/8")}}})
	ua := sink.LocalAddr().(*net.UDPAddr).AddrPort()
	dst := netip.MustParseAddr("127.0.0.1")
	tmpl := mustRead(b, "grandstream_gxp2140.sip")
	tmpl = bytes.ReplaceAll(tmpl, []byte("172.18.0.77:5060"), []byte(ua.String()))
	msgs := make([][]byte, 4096)
	for i := range msgs {
		msgs[i] = bytes.ReplaceAll(tmpl, []byte("1391437540-5060-1"), []byte(fmt.Sprintf("bench-%08d", i)))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		srv.handle(msgs[i%len(msgs)], ua, 1, dst, false)
		i++
	}
}

// BenchmarkHandleFlood is the cost of a datagram dropped by the
// per-source limit: what a one-host flood costs per packet after the read.
func BenchmarkHandleFlood(b *testing.B) {
	srv, err := Listen(Config{PerSourceRate: 1, PerSourceBurst: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	srv.ifaces.Store(&[]Interface{{Name: "lo", Index: 1, Prefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/8")}}})
	src := netip.MustParseAddrPort("127.0.0.2:5060")
	dst := netip.MustParseAddr("127.0.0.1")
	data := mustRead(b, "grandstream_gxp2140.sip")
	b.ReportAllocs()
	for b.Loop() {
		srv.handle(data, src, 1, dst, false)
	}
}

// BenchmarkReadLoopFlood is the read loop's cost per datagram of a flood
// from one source: the socket buffer is filled while nobody reads, then
// Serve drains it, every datagram past the first dropped by the
// per-source limit. ns/op is per datagram.
func BenchmarkReadLoopFlood(b *testing.B) {
	const queued = 2000
	data := mustRead(b, "grandstream_gxp2140.sip")
	b.ReportAllocs()
	var total time.Duration
	packets := 0
	for b.Loop() {
		b.StopTimer()
		srv, err := Listen(Config{PerSourceRate: 1, PerSourceBurst: 1})
		if err != nil {
			b.Fatal(err)
		}
		srv.ifaces.Store(&[]Interface{{Name: "lo", Index: 1, Prefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/8")}, Loopback: true}})
		c, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: srv.Port()})
		if err != nil {
			b.Fatal(err)
		}
		for range queued {
			c.Write(data)
		}
		c.Close()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		b.StartTimer()
		t0 := time.Now()
		go func() { srv.Serve(ctx); close(done) }()
		for srv.stats.received.Load() < queued && time.Since(t0) < 10*time.Second {
			runtime.Gosched()
		}
		total += time.Since(t0)
		packets += int(srv.stats.received.Load())
		b.StopTimer()
		cancel()
		<-done
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Nanoseconds())/float64(packets), "ns/datagram")
}
