package web

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/pnpbox/pnpbox/appliance/provision"
)

// auth checks HTTP Basic credentials for admin. Verifying the stored
// PBKDF2 hash is deliberately slow, so a verified password is remembered
// (as a SHA-256, in memory) for a while; failures are throttled per client
// address: after 5 failures in 10 minutes, that address waits a minute,
// doubling up to 15 minutes.
type auth struct {
	coord *provision.Coordinator
	now   func() time.Time

	mu      sync.Mutex
	good    [sha256.Size]byte
	goodTil time.Time
	fails   map[netip.Addr]*failures
	// sessions are the page's logins, a second way in (nil: Basic only).
	sessions *sessions
}

type failures struct {
	count   int
	first   time.Time
	until   time.Time
	penalty time.Duration
}

func newAuth(c *provision.Coordinator, now func() time.Time) *auth {
	return &auth{coord: c, now: now, fails: map[netip.Addr]*failures{}}
}

func clientAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

func (a *auth) require(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.sessions != nil && a.sessions.valid(r) {
			h.ServeHTTP(w, r)
			return
		}
		ip := clientAddr(r)
		now := a.now()
		a.mu.Lock()
		f := a.fails[ip]
		locked := f != nil && now.Before(f.until)
		a.mu.Unlock()
		if locked {
			w.Header().Set("Retry-After", fmt.Sprint(int(f.until.Sub(now).Seconds())+1))
			writeError(w, http.StatusTooManyRequests, "too many failed logins from this address; try again later")
			return
		}
		if !a.coord.HasAdmin() {
			writeError(w, http.StatusUnauthorized, "no admin password is set: start pnpd with -admin-password (or PNPD_ADMIN_PASSWORD)")
			return
		}
		user, pw, ok := r.BasicAuth()
		if ok && user == "admin" && a.check(pw, now) {
			a.mu.Lock()
			delete(a.fails, ip)
			a.mu.Unlock()
			h.ServeHTTP(w, r)
			return
		}
		if ok {
			a.fail(ip, now)
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="pnpbox", charset="UTF-8"`)
		writeError(w, http.StatusUnauthorized, "log in as admin with the box's admin password")
	})
}

func (a *auth) check(pw string, now time.Time) bool {
	sum := sha256.Sum256([]byte(pw))
	a.mu.Lock()
	cached := now.Before(a.goodTil) && subtle.ConstantTimeCompare(sum[:], a.good[:]) == 1
	a.mu.Unlock()
	if cached {
		return true
	}
	if !a.coord.CheckAdmin(pw) {
		return false
	}
	a.mu.Lock()
	a.good, a.goodTil = sum, now.Add(10*time.Minute)
	a.mu.Unlock()
	return true
}

func (a *auth) fail(ip netip.Addr, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.fails) > 4096 { // bounded: forget the oldest streaks
		for k, v := range a.fails {
			if now.After(v.until) {
				delete(a.fails, k)
			}
		}
	}
	f := a.fails[ip]
	if f == nil || now.Sub(f.first) > 10*time.Minute && now.After(f.until) {
		f = &failures{first: now, penalty: f.penaltyOr(0)}
		a.fails[ip] = f
	}
	f.count++
	if f.count >= 5 {
		f.penalty = min(max(2*f.penalty, time.Minute), 15*time.Minute)
		f.until = now.Add(f.penalty)
		f.count = 0
		f.first = now
	}
}

func (f *failures) penaltyOr(d time.Duration) time.Duration {
	if f == nil {
		return d
	}
	return f.penalty
}
