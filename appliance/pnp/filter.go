package pnp

import (
	"bytes"
	"hash/maphash"
	"net/netip"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// bucket is a token bucket: rate tokens per second, at most burst saved.
// Not safe for concurrent use on its own: take locks mu, takeLocked
// expects the caller to hold a lock that covers the bucket.
type bucket struct {
	rate, burst float64
	tokens      float64
	last        time.Time
	mu          sync.Mutex
}

func newBucket(rate, burst float64) *bucket {
	return &bucket{rate: rate, burst: burst, tokens: burst}
}

func (b *bucket) take(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.takeLocked(now)
}

func (b *bucket) takeLocked(now time.Time) bool {
	if !b.last.IsZero() {
		b.tokens += now.Sub(b.last).Seconds() * b.rate
		if b.tokens > b.burst {
			b.tokens = b.burst
		}
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// sourceIdle is how long a source must have sent nothing before its
// bucket may be given to a new source when the table is full. A phone
// retries within 4 s (T2), so a booting phone is never evicted mid-boot.
const sourceIdle = 5 * time.Second

// limiter keeps, per source IP, a bucket of packets and a bucket of new
// SUBSCRIBE transactions, in a table of bounded size so a spoofed
// many-source flood cannot grow memory. A phone starts one transaction
// per boot and retransmits it with the same Call-ID, so a source that
// keeps starting new ones (a flood of distinct SUBSCRIBEs from every
// address of the subnet) is cut off before the parser, the costly part;
// the Call-ID is found with a byte scan.
//
// The table is kept in least-recently-seen order: when it is full, a new
// source takes the entry of the source idle longest if that one has been
// idle for sourceIdle, else it shares one overflow bucket with every
// other newcomer, so the flood limits itself (each spoofed address does
// not get a fresh burst) and the known phones keep theirs. Every packet
// costs O(1). Safe for concurrent use; a nil *limiter allows everything.
type limiter struct {
	mu                sync.Mutex
	burst, rate       float64
	txnBurst, txnRate float64
	max               int
	perSource         *simplelru.LRU[netip.Addr, *source]
	overflow          *bucket
	seed              maphash.Seed
}

type source struct {
	pkts, txns bucket
	call       uint64 // hash of the Call-ID of the last transaction it started
}

func newLimiter(burst int, rate float64, size int) *limiter {
	t, err := simplelru.NewLRU[netip.Addr, *source](size, nil)
	if err != nil {
		panic(err) // size <= 0: a programming error
	}
	return &limiter{burst: float64(burst), rate: rate, max: size, perSource: t,
		// At the default 20/s: 3 transactions at once (a boot, the boot
		// after the config download, one spare), then one every 5 s.
		txnRate: rate / 100, txnBurst: max(2, float64(burst)/12),
		overflow: newBucket(rate*10, float64(burst)*10),
		seed:     maphash.MakeSeed()}
}

// allow reports whether a datagram from ip may go on to the parser. sub
// is the datagram when it is a SUBSCRIBE (its Call-ID is looked at), nil
// for anything else.
func (l *limiter) allow(ip netip.Addr, sub []byte, now time.Time) bool {
	if l == nil {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	src, ok := l.perSource.Get(ip)
	if !ok {
		if l.perSource.Len() >= l.max {
			_, old, _ := l.perSource.GetOldest()
			if now.Sub(old.pkts.last) < sourceIdle {
				return l.overflow.takeLocked(now)
			}
			l.perSource.RemoveOldest()
			src = old // reuse: no allocation
		} else {
			src = new(source)
		}
		*src = source{
			pkts: bucket{rate: l.rate, burst: l.burst, tokens: l.burst},
			txns: bucket{rate: l.txnRate, burst: l.txnBurst, tokens: l.txnBurst},
		}
		l.perSource.Add(ip, src)
	}
	if !src.pkts.takeLocked(now) {
		return false
	}
	if sub == nil {
		return true
	}
	call := maphash.Bytes(l.seed, callID(sub))
	if call == src.call {
		return true // a retransmission, or the next try of the same boot
	}
	if !src.txns.takeLocked(now) {
		return false
	}
	src.call = call
	return true
}

// callID returns the value of the first Call-ID header (or its compact
// form i, RFC 3261 §7.3.3) of a SIP message, untrimmed, or nil.
func callID(msg []byte) []byte {
	for len(msg) > 0 {
		line := msg
		if i := bytes.IndexByte(msg, '\n'); i >= 0 {
			line, msg = msg[:i], msg[i+1:]
		} else {
			msg = nil
		}
		if len(line) <= 1 || line[0] == '\r' {
			return nil // the end of the headers
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		name = bytes.TrimRight(name, " \t")
		if bytes.EqualFold(name, []byte("call-id")) || bytes.EqualFold(name, []byte("i")) {
			return value
		}
	}
	return nil
}

// maxRepeats is how many retransmissions of one SUBSCRIBE transaction are
// answered: a non-INVITE client retransmits at T1, 2·T1, … capped at T2
// until 64·T1 (RFC 3261 §17.1.2.2), 10 times with the default timers. A
// replayed capture gets that many answers and then silence.
const maxRepeats = 10

// recentTxns remembers SUBSCRIBE transactions for the lifetime of a
// non-INVITE server transaction (64·T1), so retransmissions are answered
// but reported only once, and a transaction's repeats are counted against
// maxRepeats. Bounded: when full the least recently seen is forgotten,
// in O(1). Safe for concurrent use.
type recentTxns struct {
	mu   sync.Mutex
	ttl  time.Duration
	seen *simplelru.LRU[string, *txnSeen]
}

type txnSeen struct {
	first   time.Time
	repeats int
}

func newRecentTxns(max int, ttl time.Duration) *recentTxns {
	t, err := simplelru.NewLRU[string, *txnSeen](max, nil)
	if err != nil {
		panic(err)
	}
	return &recentTxns{ttl: ttl, seen: t}
}

// note records key. repeat reports whether it was already there and
// fresh; answer whether this packet may be answered (always for the
// first, for at most maxRepeats repeats).
func (r *recentTxns) note(key string, now time.Time) (repeat, answer bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := r.seen.Get(key); ok && now.Sub(t.first) < r.ttl {
		t.repeats++
		return true, t.repeats <= maxRepeats
	}
	r.seen.Add(key, &txnSeen{first: now})
	return false, true
}
