package pnp

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/pnpbox/pnpbox/appliance"
)

type harness struct {
	srv   *Server
	phone *net.UDPConn
	mu    sync.Mutex
	found []Discovery
	got   chan Discovery
}

// newHarness starts a Server on loopback (served as the box's LAN, subnet
// prefix given) and a "phone" socket on 127.0.0.1.
func newHarness(t *testing.T, prefix string, cfg Config) *harness {
	t.Helper()
	h := &harness{got: make(chan Discovery, 2000)}
	cfg.Log = slog.New(slog.NewTextHandler(t.Output(), nil))
	cfg.OnDiscovery = func(d Discovery) bool {
		h.mu.Lock()
		h.found = append(h.found, d)
		h.mu.Unlock()
		h.got <- d
		return true
	}
	srv, err := Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	lo := loopback(t)
	if err := srv.SetInterfaces([]Interface{{Name: lo.Name, Index: lo.Index, Prefixes: []netip.Prefix{netip.MustParsePrefix(prefix)}, Loopback: true}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	h.srv = srv
	h.phone, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.phone.Close() })
	return h
}

func loopback(t *testing.T) *net.Interface {
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback != 0 {
			return &i
		}
	}
	t.Fatal("no loopback interface")
	return nil
}

// subscribe returns the GXP2140 capture rewritten to come from the phone
// socket.
func (h *harness) subscribe(t *testing.T) []byte {
	port := h.phone.LocalAddr().(*net.UDPAddr).Port
	b := mustRead(t, "grandstream_gxp2140.sip")
	return bytes.ReplaceAll(b, []byte("172.18.0.77:5060"), []byte(fmt.Sprintf("127.0.0.1:%d", port)))
}

func (h *harness) send(t *testing.T, b []byte) {
	t.Helper()
	if _, err := h.phone.WriteToUDP(b, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: h.srv.Port()}); err != nil {
		t.Fatal(err)
	}
}

// read returns the next datagram, or nil after the deadline.
func (h *harness) read(t *testing.T, d time.Duration) []byte {
	t.Helper()
	buf := make([]byte, 65536)
	h.phone.SetReadDeadline(time.Now().Add(d))
	n, _, err := h.phone.ReadFromUDP(buf)
	if err != nil {
		return nil
	}
	return buf[:n]
}

func TestServerAnswersAndReportsOnce(t *testing.T) {
	h := newHarness(t, "127.0.0.1/8", Config{})
	sub := h.subscribe(t)
	var replies [][]byte
	for range 4 { // the first try and three retransmissions
		h.send(t, sub)
		r := h.read(t, 10*time.Second)
		if r == nil {
			t.Fatal("no answer")
		}
		replies = append(replies, r)
	}
	for _, r := range replies[1:] {
		if !bytes.Equal(r, replies[0]) {
			t.Errorf("retransmission answered differently:\n%s\n---\n%s", r, replies[0])
		}
	}
	if res := parseRes(t, replies[0]); res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	d := <-h.got
	select {
	case d2 := <-h.got:
		t.Fatalf("retransmission reported as a second discovery: %+v", d2)
	case <-time.After(200 * time.Millisecond):
	}
	if d.MAC.String() != "000B82273B89" || d.Multicast || d.Interface == "" {
		t.Errorf("discovery %+v", d)
	}
	st := h.srv.Stats()
	if st.Answered != 4 || st.Retransmissions != 3 {
		t.Errorf("stats answered %d retransmissions %d, want 4 and 3", st.Answered, st.Retransmissions)
	}
}

func TestServerNotifyOutcomes(t *testing.T) {
	h := newHarness(t, "127.0.0.1/8", Config{T1: 20 * time.Millisecond, T2: 160 * time.Millisecond})
	h.send(t, h.subscribe(t))
	if h.read(t, 10*time.Second) == nil {
		t.Fatal("no 200")
	}
	d := <-h.got
	const url = "http://127.0.0.1:8080/p/tok/cfg000B82273B89"

	t.Run("ok", func(t *testing.T) {
		out := make(chan appliance.NotifyOutcome, 1)
		go func() { out <- h.srv.SendNotify(context.Background(), d.Dialog, 1, url) }()
		b := h.read(t, 10*time.Second)
		if b == nil {
			t.Fatal("no NOTIFY")
		}
		n := parseReq(t, b)
		if string(n.Body()) != url {
			t.Errorf("body %q", n.Body())
		}
		res := sip.NewResponseFromRequest(n, 200, "OK", nil)
		h.send(t, []byte(res.String()))
		if o := <-out; o.Result != appliance.NotifyOK || o.Code != 200 {
			t.Errorf("outcome %+v", o)
		}
	})
	t.Run("refused", func(t *testing.T) {
		out := make(chan appliance.NotifyOutcome, 1)
		go func() { out <- h.srv.SendNotify(context.Background(), d.Dialog, 2, url) }()
		n := parseReq(t, h.read(t, 10*time.Second))
		h.send(t, []byte(sip.NewResponseFromRequest(n, 489, "Bad Event", nil).String()))
		if o := <-out; o.Result != appliance.NotifyRefused || o.Code != 489 {
			t.Errorf("outcome %+v", o)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		before := h.srv.Stats().NotifyRetrans
		o := h.srv.SendNotify(context.Background(), d.Dialog, 3, url)
		if o.Result != appliance.NotifyTimeout {
			t.Errorf("outcome %+v", o)
		}
		// 64·T1 = 1.28 s with T1 = 20 ms: E fires at 20, 60, 140, 300, then every 160 ms.
		if n := h.srv.Stats().NotifyRetrans - before; n < 5 {
			t.Errorf("%d retransmissions, want several", n)
		}
	})
	t.Run("off LAN", func(t *testing.T) {
		dd := d.Dialog
		dd.RemoteAddr = netip.MustParseAddrPort("198.51.100.7:5060")
		o := h.srv.SendNotify(context.Background(), dd, 4, url)
		if o.Result != appliance.NotifyError || !strings.Contains(o.Detail, "not on a served subnet") {
			t.Errorf("outcome %+v", o)
		}
	})
}

func TestServerDropsOffSubnetSilently(t *testing.T) {
	h := newHarness(t, "10.0.0.1/8", Config{})
	h.send(t, h.subscribe(t))
	if r := h.read(t, 300*time.Millisecond); r != nil {
		t.Fatalf("answered an off-subnet source: %s", r)
	}
	if got := h.srv.Stats().Dropped[DropOffSubnet]; got != 1 {
		t.Errorf("off_subnet drops = %d", got)
	}
}

func TestServerRateLimitsOneSource(t *testing.T) {
	h := newHarness(t, "127.0.0.1/8", Config{PerSourceBurst: 10, PerSourceRate: 0.001})
	sub := h.subscribe(t)
	for range 30 {
		h.send(t, sub)
	}
	answers := 0
	for h.read(t, 300*time.Millisecond) != nil {
		answers++
	}
	if answers != 10 {
		t.Errorf("%d answers to a burst of 30 with burst 10", answers)
	}
	if got := h.srv.Stats().Dropped[DropRateLimited]; got != 20 {
		t.Errorf("rate_limited drops = %d, want 20", got)
	}
}

func TestServerCountsGarbage(t *testing.T) {
	h := newHarness(t, "127.0.0.1/8", Config{})
	for _, b := range [][]byte{
		[]byte("hello"),
		[]byte("SUBSCRIBE sip:x SIP/2.0\r\n"),
		[]byte("SUBSCRIBE " + strings.Repeat("a", MaxDatagram)),
		[]byte("INVITE sip:100@127.0.0.1 SIP/2.0\r\n\r\n"),
	} {
		h.send(t, b)
	}
	if r := h.read(t, 300*time.Millisecond); r != nil {
		t.Fatalf("answered garbage: %q", r)
	}
	st := h.srv.Stats()
	if st.Dropped[DropNotSub] != 2 || st.Dropped[DropUnparsable] != 1 || st.Dropped[DropOversize] != 1 {
		t.Errorf("drops %v", st.Dropped)
	}
}

// subscribeN is the capture with a distinct Call-ID and MAC for n, from
// the socket c.
func subscribeN(t *testing.T, c *net.UDPConn, n int) []byte {
	b := mustRead(t, "grandstream_gxp2140.sip")
	b = bytes.ReplaceAll(b, []byte("172.18.0.77:5060"), []byte(c.LocalAddr().String()))
	b = bytes.ReplaceAll(b, []byte("1391437540-5060-1"), []byte(fmt.Sprintf("boot-%d", n)))
	return bytes.ReplaceAll(b, []byte("000B82273B89"), []byte(fmt.Sprintf("000B82%06X", n)))
}

// TestServerAnswersABuildingAtOnce: a floor's worth of phones, each from
// its own address, all SUBSCRIBE within a few milliseconds; every first
// try is answered and every phone reported once. (A global reply budget
// of 500/s answered only the first 500.)
func TestServerAnswersABuildingAtOnce(t *testing.T) {
	const phones = 1000
	h := newHarness(t, "127.0.0.1/8", Config{})
	conns := make([]*net.UDPConn, phones)
	for i := range conns {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 10+byte(i/250), 1+byte(i%250))})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		conns[i] = c
	}
	srv := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: h.srv.Port()}
	for i, c := range conns {
		if _, err := c.WriteToUDP(subscribeN(t, c, i), srv); err != nil {
			t.Fatal(err)
		}
	}
	answered := 0
	buf := make([]byte, 4096)
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, _, err := c.ReadFromUDP(buf)
		if err == nil && bytes.HasPrefix(buf[:n], []byte("SIP/2.0 200 ")) {
			answered++
		}
	}
	if answered != phones {
		t.Errorf("%d of %d phones answered on the first try; drops %v", answered, phones, h.srv.Stats().Dropped)
	}
	seen := map[string]bool{}
	for range phones {
		select {
		case d := <-h.got:
			if seen[d.MAC.String()] {
				t.Errorf("%s reported twice", d.MAC)
			}
			seen[d.MAC.String()] = true
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d phones reported", len(seen), phones)
		}
	}
}

// TestServerReplayedSubscribeIsNotAReflector: one captured SUBSCRIBE
// replayed (the per-source limit off, so only the reply budget stands
// between the replay and its victim) is answered once plus maxRepeats
// times, then dropped; and 489s to a wrong Event come from the shared
// budget.
func TestServerReplayedSubscribeIsNotAReflector(t *testing.T) {
	h := newHarness(t, "127.0.0.1/8", Config{PerSourceRate: -1, ReplyRate: 2})
	sub := h.subscribe(t)
	start := time.Now()
	for range 30 {
		h.send(t, sub)
	}
	answers := 0
	for h.read(t, 300*time.Millisecond) != nil {
		answers++
	}
	if answers != 1+maxRepeats {
		t.Errorf("%d answers to one transaction replayed 30 times, want %d", answers, 1+maxRepeats)
	}
	if got := h.srv.Stats().Dropped[DropReplyBudget]; got != 30-1-maxRepeats {
		t.Errorf("reply_budget drops = %d, want %d", got, 30-1-maxRepeats)
	}

	bad := bytes.ReplaceAll(sub, []byte("Event: ua-profile"), []byte("Event: presence"))
	for i := range 30 {
		h.send(t, bytes.ReplaceAll(bad, []byte("1391437540-5060-1"), []byte(fmt.Sprintf("bad-%d", i))))
	}
	n489 := 0
	for {
		r := h.read(t, 300*time.Millisecond)
		if r == nil {
			break
		}
		if !bytes.HasPrefix(r, []byte("SIP/2.0 489 ")) {
			t.Fatalf("answer to a wrong Event: %q", r)
		}
		n489++
	}
	// A burst of 2, refilled at 2/s while the test ran.
	if limit := 2 + int(2*time.Since(start).Seconds()) + 1; n489 < 2 || n489 > limit {
		t.Errorf("%d 489s to 30 wrong Events with a budget of 2/s, want 2 to %d", n489, limit)
	}
}

// TestServerSourceLimitOff: with the per-source limit off, one address
// may start as many transactions as it likes (sipp from one host), and
// each is answered.
func TestServerSourceLimitOff(t *testing.T) {
	const n = 1000
	h := newHarness(t, "127.0.0.1/8", Config{PerSourceRate: -1})
	// In windows of 100, so the phone socket's buffer (~170 answers at
	// the default size) never overflows whatever the machine's speed.
	answers := 0
	for i := 0; i < n; {
		for j := 0; j < 100 && i < n; i, j = i+1, j+1 {
			h.send(t, subscribeN(t, h.phone, i))
		}
		for answers < i && h.read(t, 10*time.Second) != nil {
			answers++
		}
	}
	if answers != n {
		t.Errorf("%d of %d transactions from one source answered; drops %v", answers, n, h.srv.Stats().Dropped)
	}
}

// TestServerReportsForeignOnGroup: a SIP response or a NOTIFY that another
// host sent to the group counts foreign_on_group and is reported once per
// source (a flood is not), never answered; the box's own address on the
// group and responses sent unicast stay what they were.
func TestServerReportsForeignOnGroup(t *testing.T) {
	type report struct {
		src  netip.AddrPort
		what string
	}
	var reports []report
	h := newHarness(t, "127.0.0.1/8", Config{OnForeign: func(src netip.AddrPort, what string) {
		reports = append(reports, report{src, what}) // handle is called synchronously below
	}})
	lo := loopback(t)
	ok200 := []byte("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bKrogue\r\nFrom: <sip:pnp@x>;tag=1\r\nTo: <sip:pnp@x>;tag=2\r\nCall-ID: rogue-1\r\nCSeq: 1 SUBSCRIBE\r\nContent-Length: 0\r\n\r\n")
	notify := []byte("NOTIFY sip:phone@224.0.1.75 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.3:5060;branch=z9hG4bKrogue2\r\nFrom: <sip:pnp@x>;tag=1\r\nTo: <sip:phone@x>;tag=2\r\nCall-ID: rogue-2\r\nCSeq: 1 NOTIFY\r\nEvent: ua-profile\r\nContent-Length: 0\r\n\r\n")
	a := netip.MustParseAddrPort("127.0.0.2:5060")
	b := netip.MustParseAddrPort("127.0.0.3:5060")
	self := netip.MustParseAddrPort("127.0.0.1:5060")
	for range 5 {
		h.srv.handle(ok200, a, lo.Index, Group, false)
		h.srv.handle(notify, a, lo.Index, Group, false)
	}
	h.srv.handle(notify, b, lo.Index, Group, false)
	h.srv.handle(ok200, self, lo.Index, Group, false)                         // the box's own: not foreign
	h.srv.handle(ok200, a, lo.Index, netip.MustParseAddr("127.0.0.1"), false) // unicast
	h.srv.handle(notify, a, lo.Index, netip.MustParseAddr("127.0.0.1"), false)

	want := []report{{a, "response"}, {b, "NOTIFY"}}
	if fmt.Sprint(reports) != fmt.Sprint(want) {
		t.Errorf("reported %v, want %v", reports, want)
	}
	st := h.srv.Stats()
	if st.Dropped[DropForeign] != 11 || st.Dropped[DropUnmatched] != 2 || st.Dropped[DropNotSub] != 1 {
		t.Errorf("drops %v, want %s 11, %s 2, %s 1", st.Dropped, DropForeign, DropUnmatched, DropNotSub)
	}
	if r := h.read(t, 200*time.Millisecond); r != nil {
		t.Errorf("answered: %q", r)
	}
}

// TestForeignNoticeOncePerMinute: a source is reported again once the
// period has passed, and each source on its own.
func TestForeignNoticeOncePerMinute(t *testing.T) {
	f := foreignNotice{period: time.Minute}
	a, b := netip.MustParseAddr("198.18.0.66"), netip.MustParseAddr("198.18.0.67")
	t0 := time.Now()
	for _, c := range []struct {
		src  netip.Addr
		at   time.Duration
		want bool
	}{{a, 0, true}, {a, 59 * time.Second, false}, {b, 59 * time.Second, true}, {a, 61 * time.Second, true}, {a, 62 * time.Second, false}} {
		if got := f.due(c.src, t0.Add(c.at)); got != c.want {
			t.Errorf("%s at %v: due %v, want %v", c.src, c.at, got, c.want)
		}
	}
}

// BenchmarkHandleForeign is the cost of a datagram another host sent to
// the group (a response), with the per-source limit off: a flood of
// them must stay as cheap as any other drop.
func BenchmarkHandleForeign(b *testing.B) {
	calls := 0
	srv, err := Listen(Config{PerSourceRate: Unlimited, OnForeign: func(netip.AddrPort, string) { calls++ }})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	srv.ifaces.Store(&[]Interface{{Name: "lo", Index: 1, Prefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/8")}}})
	src := netip.MustParseAddrPort("127.0.0.2:5060")
	data := []byte("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.9:5060;branch=z9hG4bKx\r\nCSeq: 1 SUBSCRIBE\r\nContent-Length: 0\r\n\r\n")
	b.ReportAllocs()
	for b.Loop() {
		srv.handle(data, src, 1, Group, false)
	}
	if calls < 1 || calls > 1+b.N/1000 {
		b.Fatalf("OnForeign called %d times for %d datagrams from one source", calls, b.N)
	}
}
