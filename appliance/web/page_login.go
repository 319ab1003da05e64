package web

import (
	"fmt"
	"net/http"
	"time"
)

type loginData struct {
	NoAdmin   bool
	ClaimOpen bool
	ClaimLeft string
}

// loginPage is all a stranger sees: no phone, MAC or count.
func (p *pages) loginPage(w http.ResponseWriter, code int, msg string) {
	d := loginData{NoAdmin: !p.Coord.HasAdmin()}
	if p.Claim != nil {
		if left := p.Claim.Remaining(); left > 0 {
			d.ClaimOpen, d.ClaimLeft = true, left.Round(time.Second).String()
		}
	}
	title := "Log in"
	if d.NoAdmin {
		title = "First boot"
	}
	p.render(w, code, "login", tmplView{Title: title, Error: msg, Data: d})
}

// login checks the admin password and starts a session. Failures count
// towards the same per-address back-off as the API's HTTP Basic.
func (p *pages) login(w http.ResponseWriter, r *http.Request) {
	ip, now := clientAddr(r), p.Now()
	if wait, locked := p.auth.locked(ip, now); locked {
		secs := int(wait.Seconds()) + 1
		w.Header().Set("Retry-After", fmt.Sprint(secs))
		p.loginPage(w, http.StatusTooManyRequests, fmt.Sprintf("Too many wrong passwords from this address: try again in %d s.", secs))
		return
	}
	if !p.Coord.HasAdmin() {
		p.loginPage(w, http.StatusUnauthorized, "No admin password is set yet: set one first.")
		return
	}
	pw := r.PostFormValue("password")
	if pw == "" || !p.auth.check(pw, now) {
		if pw != "" {
			p.auth.fail(ip, now)
		}
		p.loginPage(w, http.StatusUnauthorized, "Wrong password.")
		return
	}
	p.auth.succeeded(ip)
	p.sess.create(w, r)
	p.Log.Info("page: logged in", "ip", ip.String())
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// setup sets the admin password while claim mode is open (first boot, or
// a forgotten password) and logs in with it. Every other session ends.
func (p *pages) setup(w http.ResponseWriter, r *http.Request) {
	pw, again := r.PostFormValue("password"), r.PostFormValue("confirm")
	if pw != again {
		p.loginPage(w, http.StatusBadRequest, "The two passwords differ.")
		return
	}
	if p.Claim == nil || p.Claim.Remaining() == 0 {
		p.loginPage(w, http.StatusForbidden, "Claim mode is not open: hold the box's button for 5 seconds (until the LED lights steadily), then try again within 2 minutes.")
		return
	}
	open, err := p.Claim.Use(func() error { return p.Coord.SetAdminPassword(pw) })
	switch {
	case !open:
		p.loginPage(w, http.StatusForbidden, "Claim mode has closed: hold the button again.")
		return
	case err != nil:
		code, msg := p.classify(err)
		if code == http.StatusInternalServerError {
			msg = "The password could not be saved: " + msg
		}
		p.loginPage(w, min(code, http.StatusBadRequest), msg)
		return
	}
	p.auth.forget()
	p.sess.create(w, r)
	p.Log.Info("admin password set in claim mode (page)", "ip", clientAddr(r).String())
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// logout ends the session.
func (p *pages) logout(w http.ResponseWriter, r *http.Request) {
	p.sess.end(w, r)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
