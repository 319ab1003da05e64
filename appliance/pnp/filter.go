package pnp

import (
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

// limiter keeps one bucket per source IP in a table of bounded size, so a
// spoofed many-source flood cannot grow memory. The table is kept in
// least-recently-seen order: when it is full, a new source takes the
// bucket of the source idle longest if that one has been idle for
// sourceIdle, else it shares one overflow bucket with every other
// newcomer, so the flood limits itself (each spoofed address does not get
// a fresh burst) and the known phones keep theirs. Every packet costs
// O(1). Safe for concurrent use; a nil *limiter allows everything.
type limiter struct {
	mu        sync.Mutex
	burst     float64
	rate      float64
	max       int
	perSource *simplelru.LRU[netip.Addr, *bucket]
	overflow  *bucket
}

func newLimiter(burst int, rate float64, max int) *limiter {
	t, err := simplelru.NewLRU[netip.Addr, *bucket](max, nil)
	if err != nil {
		panic(err) // max <= 0: a programming error
	}
	return &limiter{burst: float64(burst), rate: rate, max: max, perSource: t,
		overflow: newBucket(rate*10, float64(burst)*10)}
}

func (l *limiter) allow(ip netip.Addr, now time.Time) bool {
	if l == nil {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.perSource.Get(ip); ok {
		return b.takeLocked(now)
	}
	var b *bucket
	if l.perSource.Len() >= l.max {
		_, old, _ := l.perSource.GetOldest()
		if now.Sub(old.last) < sourceIdle {
			return l.overflow.takeLocked(now)
		}
		l.perSource.RemoveOldest()
		*old = bucket{rate: l.rate, burst: l.burst, tokens: l.burst} // reuse: no allocation
		b = old
	} else {
		b = newBucket(l.rate, l.burst)
	}
	l.perSource.Add(ip, b)
	return b.takeLocked(now)
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
