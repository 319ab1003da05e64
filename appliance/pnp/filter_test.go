package pnp

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"testing"
	"time"
)

// addrN returns a distinct on-subnet address for i (198.18.0.0/15).
func addrN(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{198, 18 + byte(i>>16&1), byte(i >> 8), byte(i)})
}

// BenchmarkLimiterKnownSource is the per-packet cost for a source already
// in the table.
func BenchmarkLimiterKnownSource(b *testing.B) {
	l := newLimiter(40, 1e9, 4096)
	now := time.Now()
	ip := addrN(1)
	l.allow(ip, nil, now)
	b.ReportAllocs()
	for b.Loop() {
		l.allow(ip, nil, now)
	}
}

// BenchmarkLimiterNewSource is the per-packet cost for a source never
// seen, with the table full of sources seen just now (a spoofed
// many-source flood): the worst case for eviction.
func BenchmarkLimiterNewSource(b *testing.B) {
	l := newLimiter(40, 20, 4096)
	now := time.Now()
	for i := range 4096 {
		l.allow(addrN(i), nil, now)
	}
	i := 4096
	b.ReportAllocs()
	for b.Loop() {
		l.allow(addrN(i), nil, now)
		i = (i + 1) % 100000
	}
}

// BenchmarkLimiterNewSourceEvicting is a new source each packet with the
// table full of sources idle long enough to be evicted.
func BenchmarkLimiterNewSourceEvicting(b *testing.B) {
	l := newLimiter(40, 20, 4096)
	now := time.Now()
	for i := range 4096 {
		l.allow(addrN(i), nil, now)
	}
	now = now.Add(time.Minute)
	i := 4096
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(10 * time.Millisecond)
		l.allow(addrN(i), nil, now)
		i = (i + 1) % 100000
	}
}

func TestLimiterEvictsOnlyIdleSources(t *testing.T) {
	const max, burst = 4, 2
	l := newLimiter(burst, 1, max)
	t0 := time.Unix(1000, 0)
	for i := range max {
		if !l.allow(addrN(i), nil, t0) {
			t.Fatalf("known source %d refused its first packet", i)
		}
	}
	// The table is full of sources that sent just now: newcomers share the
	// overflow bucket (burst·10), each does not get a fresh burst.
	shared := 0
	for i := range 100 {
		if l.allow(addrN(max+i), nil, t0) {
			shared++
		}
	}
	if shared != burst*10 {
		t.Errorf("%d newcomers let through with a full table, want the overflow burst %d", shared, burst*10)
	}
	// The known sources keep their own buckets.
	if !l.allow(addrN(0), nil, t0) {
		t.Error("a known source lost its bucket to the newcomers")
	}
	// Once the least recently seen source has been idle for sourceIdle, a
	// newcomer takes its place, with a full burst of its own.
	t1 := t0.Add(sourceIdle)
	for range burst {
		if !l.allow(addrN(1000), nil, t1) {
			t.Fatal("a newcomer did not get the bucket of an idle source")
		}
	}
	if l.allow(addrN(1000), nil, t1) {
		t.Error("a newcomer got more than its burst")
	}
	if got := l.perSource.Len(); got != max {
		t.Errorf("table holds %d sources, want %d", got, max)
	}
	if _, ok := l.perSource.Peek(addrN(1)); ok {
		t.Error("the source idle longest was not the one evicted")
	}
}

func TestRecentTxnsAnswersRepeatsUpToTheBudget(t *testing.T) {
	r := newRecentTxns(8, time.Minute)
	now := time.Unix(1000, 0)
	if repeat, answer := r.note("a", now); repeat || !answer {
		t.Fatalf("first: repeat %v answer %v", repeat, answer)
	}
	answered := 0
	for range 30 {
		repeat, answer := r.note("a", now)
		if !repeat {
			t.Fatal("a repeat was not recognised")
		}
		if answer {
			answered++
		}
	}
	if answered != maxRepeats {
		t.Errorf("%d repeats answered, want %d", answered, maxRepeats)
	}
	// After the transaction's lifetime the same key is a new transaction.
	if repeat, answer := r.note("a", now.Add(time.Minute)); repeat || !answer {
		t.Errorf("after the lifetime: repeat %v answer %v", repeat, answer)
	}
}

// TestAnswerAmplifiesNothing: the 200 to every captured SUBSCRIBE is no
// larger than the SUBSCRIBE, so a spoofed source gains nothing by
// reflecting off the box.
func TestAnswerAmplifiesNothing(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "subscribe", "*.sip"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no captures: %v", err)
	}
	for _, f := range files {
		data := mustRead(t, filepath.Base(f))
		reply, _, _, reason := Answer(parseReq(t, data), pktFrom("172.18.0.77:5060"), testKey, "pnpbox/1.0.0-dev")
		if reply == nil {
			t.Logf("%s: no answer (%s)", filepath.Base(f), reason)
			continue
		}
		if len(reply) > len(data) {
			t.Errorf("%s: %d-byte answer to a %d-byte SUBSCRIBE", filepath.Base(f), len(reply), len(data))
		}
	}
}

func TestCallID(t *testing.T) {
	for _, tc := range []struct{ msg, want string }{
		{"SUBSCRIBE sip:x SIP/2.0\r\nVia: a\r\nCall-ID: abc@h\r\n\r\n", " abc@h\r"},
		{"SUBSCRIBE sip:x SIP/2.0\r\ni:compact\r\n\r\n", "compact\r"},
		{"SUBSCRIBE sip:x SIP/2.0\r\nCALL-ID : upper\r\n\r\n", " upper\r"},
		{"SUBSCRIBE sip:x SIP/2.0\r\nVia: a\r\n\r\nCall-ID: in-body\r\n", ""},
		{"SUBSCRIBE sip:x SIP/2.0\r\nX-Call-ID: no\r\n", ""},
	} {
		if got := string(callID([]byte(tc.msg))); got != tc.want {
			t.Errorf("callID(%q) = %q, want %q", tc.msg, got, tc.want)
		}
	}
}

// TestLimiterNewTransactions: a source that keeps starting SUBSCRIBE
// transactions is cut off after the burst, while the retransmissions of
// the transaction it has are still let through.
func TestLimiterNewTransactions(t *testing.T) {
	l := newLimiter(40, 20, 16) // transactions: burst 3, one per 5 s
	now := time.Unix(1000, 0)
	ip := addrN(1)
	sub := func(call string) []byte { return []byte("SUBSCRIBE sip:x SIP/2.0\r\nCall-ID: " + call + "\r\n\r\n") }
	started := 0
	for i := range 20 {
		if l.allow(ip, sub(fmt.Sprint("flood-", i)), now) {
			started++
		}
	}
	if started != 3 {
		t.Errorf("%d new transactions let through at once, want the burst of 3", started)
	}
	// The last transaction let through retransmits: answered.
	for range 3 {
		if !l.allow(ip, sub("flood-2"), now) {
			t.Error("a retransmission of the source's transaction was dropped")
		}
	}
	// Not a second later, but 5 s later one more may start.
	if l.allow(ip, sub("too-soon"), now.Add(time.Second)) {
		t.Error("a new transaction a second after the burst")
	}
	if !l.allow(ip, sub("reboot"), now.Add(5*time.Second)) {
		t.Error("no new transaction 5 s after the burst")
	}
	// Another source is not affected.
	if !l.allow(addrN(2), sub("flood-0"), now) {
		t.Error("a second source was limited by the first")
	}
}

// BenchmarkLimiterSubscribe is the per-packet cost for a known source's
// SUBSCRIBE retransmission: the packet bucket and the Call-ID scan.
func BenchmarkLimiterSubscribe(b *testing.B) {
	l := newLimiter(40, 1e9, 4096)
	now := time.Now()
	data := mustRead(b, "grandstream_gxp2140.sip")
	ip := addrN(1)
	b.ReportAllocs()
	for b.Loop() {
		l.allow(ip, data, now)
	}
}
