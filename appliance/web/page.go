package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/pnpbox/pnpbox/appliance"
)

// The installer's page: server-rendered HTML (html/template) with its CSS
// and a few lines of script embedded in the binary, so it works on a box
// with no Internet. Every form is a plain HTML form (the page works with
// script off); the script only refreshes the phones table in place and
// generates SIP passwords in the browser. docs/page.md is its manual.

//go:embed templates/*.html
var templates embed.FS

//go:embed assets
var assets embed.FS

// pages serves the installer's page. Its routes sit behind the Host
// check; all but login, first-boot setup and the assets need a session.
type pages struct {
	*server
	sess  *sessions
	names []string // the box's host names, for the Host check
	tmpl  map[string]*template.Template
}

// pageFiles are the page templates; each is parsed with layout.html.
var pageFiles = []string{"login", "phones", "phone", "edit", "csv", "settings", "box"}

var pageFuncs = template.FuncMap{
	"since": func(now time.Time, t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return shortDuration(now.Sub(t))
	},
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.Local().Format("2006-01-02 15:04:05")
	},
	"join": strings.Join,
	"inc":  func(i int) int { return i + 1 },
	"led":  ledWord,
}

// shortDuration writes a duration the way a person glances at it: 45s, 12m, 3h, 2d.
func shortDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", max(0, int(d.Seconds())))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	default:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	}
}

func parsePages() map[string]*template.Template {
	base := template.Must(template.New("layout.html").Funcs(pageFuncs).ParseFS(templates, "templates/layout.html"))
	out := map[string]*template.Template{}
	for _, name := range pageFiles {
		out[name] = template.Must(template.Must(base.Clone()).ParseFS(templates, "templates/"+name+".html"))
	}
	// The live part of the phones page, alone (the script's refresh).
	out["live"] = out["phones"].Lookup("live")
	return out
}

// parsedPages are parsed once: templates are constant.
var parsedPages = parsePages()

// pageRoutes adds the page's routes to mux.
func (s *server) pageRoutes(mux *http.ServeMux) {
	p := &pages{server: s, sess: newSessions(s.Now), names: hostNames(), tmpl: parsedPages}
	s.auth.sessions = p.sess
	route := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, s.hostCheck(p.names, h)) }
	in := func(pattern string, h func(http.ResponseWriter, *http.Request, *session)) {
		route(pattern, p.authed(h))
	}
	static, _ := fs.Sub(assets, "assets")
	route("GET /assets/", http.StripPrefix("/assets/", assetServer(static)).ServeHTTP)
	route("GET /{$}", p.home)
	route("POST /login", p.login)
	route("POST /setup", p.setup)
	route("POST /logout", p.logout)
	in("GET /phones/live", p.live)
	in("POST /provision", p.provisionAll)
	in("GET /phones/{mac}", p.phonePage)
	in("POST /phones/{mac}/provision", p.provisionOne)
	in("POST /phones/{mac}/forget", p.forget)
	in("POST /phones/{mac}/admin-password", p.revealAdmin)
	in("GET /phones/{mac}/edit", p.editForm)
	in("POST /phones/{mac}/edit", p.editSave)
	in("GET /add", p.addForm)
	in("POST /add", p.addSave)
	in("GET /csv", p.csvPage)
	in("POST /csv/check", p.csvCheck)
	in("POST /csv/import", p.csvImport)
	in("GET /csv/template", p.csvTemplate)
	in("GET /csv/export", p.csvExport)
	in("GET /settings", p.settingsPage)
	in("POST /settings", p.settingsSave)
	in("GET /box", p.boxPage)
	in("POST /box/ack", p.ackAlerts)
	in("POST /box/restore", p.restoreUpload)
}

// assetServer serves the embedded CSS and script; they change only with
// the binary, so browsers may keep them for a day.
func assetServer(static fs.FS) http.Handler {
	fsrv := http.FileServerFS(static)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=86400")
		fsrv.ServeHTTP(w, r)
	})
}

// authed runs h with the request's session, or sends the browser to the
// login form (a script's refresh gets 401 and reloads the page).
func (p *pages) authed(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess := p.sessionFor(r)
		if sess == nil {
			if r.Method == http.MethodGet && !strings.HasSuffix(r.URL.Path, "/live") {
				http.Redirect(w, r, "/", http.StatusSeeOther)
				return
			}
			w.Header().Set("Cache-Control", "no-store")
			http.Error(w, "Your session has ended: log in again.", http.StatusUnauthorized)
			return
		}
		h(w, r, sess)
	}
}

// sessionFor returns the request's session. A request that carries the
// admin's HTTP Basic credentials instead (a script, curl) gets a session
// for that request alone, checked and throttled as the API checks them.
func (p *pages) sessionFor(r *http.Request) *session {
	if s := p.sess.get(r); s != nil {
		return s
	}
	user, pw, ok := r.BasicAuth()
	if !ok || user != "admin" || !p.Coord.HasAdmin() {
		return nil
	}
	ip, now := clientAddr(r), p.Now()
	if _, locked := p.auth.locked(ip, now); locked {
		return nil
	}
	if !p.auth.check(pw, now) {
		p.auth.fail(ip, now)
		return nil
	}
	p.auth.succeeded(ip)
	return &session{created: now, last: now}
}

// tmplView is what every page template gets.
type tmplView struct {
	Title    string
	Nav      string // which menu entry is current
	LoggedIn bool
	Flash    string
	Error    string
	Now      time.Time
	LED      string
	// Alerts not yet acknowledged are shown on every page: the LED
	// shows error until then.
	Alerts []appliance.Alert
	Data   any
}

// render writes page name with code, from a buffer so a template error
// never sends half a page. Pages are never cached: they hold the
// installer's data.
func (p *pages) render(w http.ResponseWriter, code int, name string, v tmplView) {
	if v.Now.IsZero() {
		v.Now = p.Now()
	}
	var buf bytes.Buffer
	t := p.tmpl[name]
	if err := t.Execute(&buf, v); err != nil {
		p.Log.Error("page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

// seeOther ends a form post (Post/Redirect/Get): reloading the page the
// browser lands on repeats nothing.
func (p *pages) seeOther(w http.ResponseWriter, r *http.Request, s *session, to, flash string) {
	if flash != "" {
		p.sess.setFlash(s, flash, nil)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// ledWords are the LED patterns in the words of the front panel's
// legend (package panel's table): the pattern the LED blinks, and what it
// means.
var ledWords = map[string]string{
	"booting": "booting: a blip once a second — starting up, no address yet",
	"idle":    "idle: steady on — ready, nothing pending",
	"pending": "pending: slow blink — phones wait for a press",
	"busy":    "busy: fast blink — NOTIFYs out, downloads awaited",
	"error":   "error: double flash — no link, no address, a storage fault or an alert",
}

// ledWord says what the LED is showing.
func ledWord(led string) string {
	if w, ok := ledWords[led]; ok {
		return w
	}
	return led
}
