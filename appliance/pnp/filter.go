package pnp

import (
	"net/netip"
	"sync"
	"time"
)

// bucket is a token bucket: rate tokens per second, at most burst saved.
// Not safe for concurrent use on its own.
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

// limiter keeps one bucket per source IP, in a table of bounded size so a
// spoofed many-source flood cannot grow memory: when full, buckets idle
// for a few seconds are swept, and if none are, new sources share one
// overflow bucket (so the flood limits itself, not the known phones).
type limiter struct {
	mu        sync.Mutex
	burst     int
	rate      float64
	max       int
	perSource map[netip.Addr]*bucket
	overflow  *bucket
}

func newLimiter(burst int, rate float64, max int) *limiter {
	return &limiter{burst: burst, rate: rate, max: max,
		perSource: map[netip.Addr]*bucket{},
		overflow:  newBucket(rate*10, float64(burst)*10)}
}

func (l *limiter) allow(ip netip.Addr, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.perSource[ip]
	if b == nil {
		if len(l.perSource) >= l.max {
			for k, v := range l.perSource {
				if now.Sub(v.last) > 5*time.Second {
					delete(l.perSource, k)
				}
			}
		}
		if len(l.perSource) >= l.max {
			return l.overflow.takeLocked(now)
		}
		b = newBucket(l.rate, float64(l.burst))
		l.perSource[ip] = b
	}
	return b.takeLocked(now)
}

// recentTxns remembers SUBSCRIBE transactions for the lifetime of a
// non-INVITE server transaction (64·T1), so retransmissions are answered
// but reported only once. Bounded: when full the oldest half is dropped.
type recentTxns struct {
	mu   sync.Mutex
	max  int
	ttl  time.Duration
	seen map[string]time.Time
}

func newRecentTxns(max int, ttl time.Duration) *recentTxns {
	return &recentTxns{max: max, ttl: ttl, seen: map[string]time.Time{}}
}

// seen records key and reports whether it was already there and fresh.
func (r *recentTxns) seenBefore(key string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := r.seen[key]; ok && now.Sub(t) < r.ttl {
		return true
	}
	if len(r.seen) >= r.max {
		for k, t := range r.seen {
			if now.Sub(t) >= r.ttl || len(r.seen) >= r.max/2 {
				delete(r.seen, k)
			}
		}
	}
	r.seen[key] = now
	return false
}
