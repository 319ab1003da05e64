package web

import (
	"net/netip"
	"sync"
	"time"
)

// budget allows each client address n misses per period (404s on
// provisioning paths): enough for a phone trying its file names, far too
// few to enumerate tokens. Bounded in size.
type budget struct {
	n      int
	period time.Duration
	mu     sync.Mutex
	by     map[netip.Addr]*window
}

type window struct {
	start time.Time
	count int
}

func newBudget(n int, period time.Duration) *budget {
	return &budget{n: n, period: period, by: map[netip.Addr]*window{}}
}

// exhausted reports whether ip has used up its misses.
func (b *budget) exhausted(ip netip.Addr, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	w := b.by[ip]
	return w != nil && now.Sub(w.start) < b.period && w.count >= b.n
}

// miss records one miss by ip.
func (b *budget) miss(ip netip.Addr, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	w := b.by[ip]
	if w == nil || now.Sub(w.start) >= b.period {
		if len(b.by) >= 4096 {
			for k, v := range b.by {
				if now.Sub(v.start) >= b.period {
					delete(b.by, k)
				}
			}
			if len(b.by) >= 4096 {
				clear(b.by)
			}
		}
		w = &window{start: now}
		b.by[ip] = w
	}
	w.count++
}
