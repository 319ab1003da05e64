package web

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/pnpbox/pnpbox/appliance/provision"
)

// Session lifetimes (robustness reference §4): a session ends after
// sessionIdle without a request, and sessionMax after login whatever
// happens; at most maxSessions live at once (the oldest goes first).
const (
	sessionCookie = "pnpbox_session"
	sessionIdle   = 30 * time.Minute
	sessionMax    = 12 * time.Hour
	maxSessions   = 64
)

// sessions are the page's logins: random 256-bit IDs kept in memory only
// (a reboot logs everyone out, and nothing is written to the SD card).
// Safe for concurrent use.
type sessions struct {
	now func() time.Time

	mu sync.Mutex
	by map[string]*session
}

// session is one login. Its fields are guarded by sessions.mu.
type session struct {
	id      string
	created time.Time
	last    time.Time
	// flash is shown once on the next page (what a form did).
	flash   string
	summary *provision.Summary
	// uploads are CSV files checked by a dry run and waiting for the
	// installer to confirm the import, by upload id. They stay on the
	// server so the file (which may hold passwords) is never sent back
	// into the page.
	uploads map[string]csvUpload
}

type csvUpload struct {
	name string
	body []byte
	at   time.Time
}

func newSessions(now func() time.Time) *sessions {
	return &sessions{now: now, by: map[string]*session{}}
}

// newSessionID returns 256 random bits, base64url: a session or upload id.
func newSessionID() string {
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand since Go 1.24)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// create starts a session and sets its cookie; old, the session the
// browser had (if any), ends, so a login always gets a fresh ID.
func (ss *sessions) create(w http.ResponseWriter, r *http.Request) *session {
	now := ss.now()
	s := &session{id: newSessionID(), created: now, last: now}
	ss.mu.Lock()
	if c, err := r.Cookie(sessionCookie); err == nil {
		delete(ss.by, c.Value)
	}
	if len(ss.by) >= maxSessions {
		var oldest *session
		for _, o := range ss.by {
			if oldest == nil || o.last.Before(oldest.last) {
				oldest = o
			}
		}
		delete(ss.by, oldest.id)
	}
	ss.by[s.id] = s
	ss.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: s.id, Path: "/", HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	return s
}

// get returns the request's live session and marks it used, or nil.
func (ss *sessions) get(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	now := ss.now()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.by[c.Value]
	if s == nil {
		return nil
	}
	if now.Sub(s.last) > sessionIdle || now.Sub(s.created) > sessionMax {
		delete(ss.by, s.id)
		return nil
	}
	s.last = now
	return s
}

// valid reports whether r carries a live session (the API's second way in,
// beside HTTP Basic).
func (ss *sessions) valid(r *http.Request) bool { return ss.get(r) != nil }

// end logs the request's session out and clears its cookie.
func (ss *sessions) end(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		ss.mu.Lock()
		delete(ss.by, c.Value)
		ss.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
}

// endAll logs every session out: the admin password changed.
func (ss *sessions) endAll() {
	ss.mu.Lock()
	clear(ss.by)
	ss.mu.Unlock()
}

// setFlash stores a message (and a button summary) for the next page.
func (ss *sessions) setFlash(s *session, msg string, sum *provision.Summary) {
	ss.mu.Lock()
	s.flash, s.summary = msg, sum
	ss.mu.Unlock()
}

// takeFlash returns the stored message once.
func (ss *sessions) takeFlash(s *session) (string, *provision.Summary) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	msg, sum := s.flash, s.summary
	s.flash, s.summary = "", nil
	return msg, sum
}

// Uploads wait at most uploadTTL for their confirmation; a session holds
// at most maxUploads.
const (
	uploadTTL  = 15 * time.Minute
	maxUploads = 4
)

// keepUpload stores a checked CSV file and returns its id.
func (ss *sessions) keepUpload(s *session, name string, body []byte) string {
	id := newSessionID()
	now := ss.now()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if s.uploads == nil {
		s.uploads = map[string]csvUpload{}
	}
	for k, u := range s.uploads {
		if now.Sub(u.at) > uploadTTL || len(s.uploads) >= maxUploads {
			delete(s.uploads, k)
		}
	}
	s.uploads[id] = csvUpload{name: name, body: body, at: now}
	return id
}

// takeUpload returns and forgets a stored CSV file.
func (ss *sessions) takeUpload(s *session, id string) (csvUpload, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	u, ok := s.uploads[id]
	if !ok || ss.now().Sub(u.at) > uploadTTL {
		return csvUpload{}, false
	}
	delete(s.uploads, id)
	return u, true
}

// locked reports whether ip must wait after failed logins (shared with the
// API's HTTP Basic back-off), and for how long.
func (a *auth) locked(ip netip.Addr, now time.Time) (time.Duration, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f := a.fails[ip]
	if f == nil || !now.Before(f.until) {
		return 0, false
	}
	return f.until.Sub(now), true
}

// succeeded clears ip's failed logins.
func (a *auth) succeeded(ip netip.Addr) {
	a.mu.Lock()
	delete(a.fails, ip)
	a.mu.Unlock()
}
