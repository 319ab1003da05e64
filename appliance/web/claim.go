package web

import (
	"net/http"
	"time"
)

// Claimer is claim mode as the API sees it: the window a long press on
// the box's button opens (*panel.Claim implements it).
type Claimer interface {
	// Remaining is how long the window stays open, 0 when closed.
	Remaining() time.Duration
	// Use runs set while the window is open and closes it when set
	// succeeds; open is false when the window was closed.
	Use(set func() error) (open bool, err error)
}

const claimClosed = "claim mode is off: hold the box's button for 5 seconds (until the LED lights steadily), " +
	"then send the new password within 2 minutes"

// claim sets the admin password without the old one, while claim mode is
// on: whoever can press the box's button may take it over (first boot, or
// a forgotten password). No login; cross-origin requests are refused like
// every state-changing one.
func (s *server) claim(w http.ResponseWriter, r *http.Request) {
	if s.Claim == nil || s.Claim.Remaining() == 0 {
		writeError(w, http.StatusForbidden, claimClosed)
		return
	}
	var req struct {
		Password string `json:"password"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, http.StatusBadRequest, "claim: "+err.Error())
		return
	}
	open, err := s.Claim.Use(func() error { return s.Coord.SetAdminPassword(req.Password) })
	switch {
	case !open:
		writeError(w, http.StatusForbidden, claimClosed)
		return
	case err != nil:
		s.fail(w, err)
		return
	}
	s.auth.forget()
	s.Log.Info("admin password set in claim mode", "ip", clientAddr(r).String())
	writeJSON(w, http.StatusOK, map[string]string{"status": "admin password set; log in as admin with it"})
}

// forget drops the remembered good password, so the old one stops
// working the moment a new one is claimed.
func (a *auth) forget() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.good, a.goodTil = [len(a.good)]byte{}, time.Time{}
	if a.sessions != nil {
		a.sessions.endAll() // the page's logins made with the old one too
	}
}

// statusClaimJSON is /api/status with claim mode.
type statusClaimJSON struct {
	statusJSON
	ClaimMode        bool  `json:"claim_mode"`
	ClaimSecondsLeft int64 `json:"claim_seconds_left"`
}

func (s *server) statusWithClaim(w http.ResponseWriter, r *http.Request) {
	out := statusClaimJSON{statusJSON: s.statusData()}
	if s.Claim != nil {
		if left := s.Claim.Remaining(); left > 0 {
			out.ClaimMode = true
			out.ClaimSecondsLeft = int64((left + time.Second - 1) / time.Second)
		}
	}
	writeJSON(w, http.StatusOK, out)
}
