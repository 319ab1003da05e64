package web

import (
	"bytes"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/appliance/provision"
)

// pageSize is how many phones one page of the table shows: 200 rows keep
// the page well under 100 KB.
const pageSize = 200

// tableFilter is one of the table's views.
type tableFilter struct {
	Value, Label string
	match        func(provision.Entry) bool
}

// tableFilters are the table's views. Pending is DESIGN.md's: has an
// assignment and is not yet provisioned.
var tableFilters = []tableFilter{
	{"pending", "pending", func(e provision.Entry) bool {
		return e.Assignment != nil && e.Phone.State != appliance.StateProvisioned
	}},
	{"failed", "failed", func(e provision.Entry) bool { return e.Phone.State == appliance.StateFailed }},
	{"unassigned", "not assigned", func(e provision.Entry) bool { return e.Assignment == nil }},
	{"provisioned", "provisioned", func(e provision.Entry) bool { return e.Phone.State == appliance.StateProvisioned }},
	{"all", "all", func(provision.Entry) bool { return true }},
}

type filterLink struct {
	Value, Label string
	N            int
	On           bool
}

// phoneRow is one row of the table, as strings: the template only
// prints, so 1,000 phones render fast.
type phoneRow struct {
	MAC, Phone, IP, Since, Ext, Name, Notify string
	State                                    appliance.State
	Downloads                                int
}

type countView struct {
	State appliance.State
	N     int
	Class string
}

type phonesData struct {
	Filters      []filterLink
	Q, Query     string
	Rows         []phoneRow
	Total, Shown int
	Page, Pages  int
	Prev, Next   string
	Pending      int
	Counts       []countView
	Pool         *provision.PoolStatus
	Summary      *provision.Summary
}

// phoneMatches reports whether e matches the search q (upper case): a MAC
// in any form, an extension, or part of a display name.
func phoneMatches(e provision.Entry, q string) bool {
	if q == "" {
		return true
	}
	if hex := macDigits(q); hex != "" && strings.Contains(e.Phone.MAC.String(), hex) {
		return true
	}
	if a := e.Assignment; a != nil {
		if strings.Contains(strings.ToUpper(a.Extension), q) || strings.Contains(strings.ToUpper(a.DisplayName), q) {
			return true
		}
	}
	return false
}

// macDigits returns q's hex digits when q looks like (part of) a MAC
// written with or without separators, else "".
func macDigits(q string) string {
	var b strings.Builder
	for _, c := range q {
		switch {
		case c >= '0' && c <= '9', c >= 'A' && c <= 'F':
			b.WriteRune(c)
		case c == ':' || c == '-' || c == '.' || c == ' ':
		default:
			return ""
		}
	}
	return b.String()
}

// stateSince is when the phone entered its state, as far as the phone's
// record tells (the event log holds the exact time): the download for
// downloaded and provisioned, the NOTIFY for notified and failed, the
// first SUBSCRIBE for discovered. Zero when not known (assigned).
func stateSince(p appliance.Phone) time.Time {
	switch p.State {
	case appliance.StateProvisioned, appliance.StateDownloaded:
		if p.LastDownload != nil {
			return p.LastDownload.Time
		}
	case appliance.StateNotified:
		if !p.NotifiedAt.IsZero() {
			return p.NotifiedAt
		}
		if p.LastNotify != nil {
			return p.LastNotify.Time
		}
	case appliance.StateFailed:
		if p.LastNotify != nil {
			return p.LastNotify.Time
		}
	case appliance.StateDiscovered:
		return p.FirstSeen
	}
	return time.Time{}
}

func notifyWords(n *appliance.NotifyOutcome) string {
	if n == nil {
		return "—"
	}
	s := string(n.Result)
	if n.Code != 0 {
		s += " " + strconv.Itoa(n.Code)
	}
	if n.Detail != "" {
		s += " (" + n.Detail + ")"
	}
	return s
}

func rowOf(e provision.Entry, now time.Time) phoneRow {
	p := e.Phone
	r := phoneRow{MAC: p.MAC.String(), Phone: strings.TrimSpace(p.Model + " " + p.Firmware), IP: "—",
		State: p.State, Notify: notifyWords(p.LastNotify), Downloads: p.Downloads}
	if p.IP.IsValid() {
		r.IP = p.IP.String()
	} else if !p.Seen() {
		r.IP = "not seen yet"
	}
	if t := stateSince(p); !t.IsZero() {
		r.Since = shortDuration(now.Sub(t))
	}
	if e.InFlight {
		r.Since += " · NOTIFY out"
	}
	if a := e.Assignment; a != nil {
		r.Ext, r.Name = a.Extension, a.DisplayName
		if r.Phone == "" && a.Model != "" {
			r.Phone = a.Model + " (expected)"
		}
	}
	return r
}

// phonesView builds the table for the query in u: filter, search, page.
func (p *pages) phonesView(u url.Values) phonesData {
	now := p.Now()
	show := u.Get("show")
	if !slices.ContainsFunc(tableFilters, func(f tableFilter) bool { return f.Value == show }) {
		show = "all"
	}
	q := strings.ToUpper(strings.TrimSpace(u.Get("q")))
	entries := p.Coord.Phones()
	st := p.Coord.Status()
	d := phonesData{Q: u.Get("q"), Pending: st.Pending, Total: len(entries)}
	if st.Pool.Range != "" {
		d.Pool = &st.Pool
	}
	for _, s := range appliance.States {
		d.Counts = append(d.Counts, countView{s, st.Counts[s], "s-" + string(s)})
	}
	var match func(provision.Entry) bool
	for _, f := range tableFilters {
		n := 0
		for _, e := range entries {
			if f.match(e) {
				n++
			}
		}
		d.Filters = append(d.Filters, filterLink{f.Value, f.Label, n, f.Value == show})
		if f.Value == show {
			match = f.match
		}
	}
	var hits []provision.Entry
	for _, e := range entries {
		if match(e) && phoneMatches(e, q) {
			hits = append(hits, e)
		}
	}
	d.Shown = len(hits)
	d.Pages = max(1, (len(hits)+pageSize-1)/pageSize)
	d.Page, _ = strconv.Atoi(u.Get("page"))
	d.Page = min(max(d.Page, 1), d.Pages)
	hits = hits[(d.Page-1)*pageSize : min(len(hits), d.Page*pageSize)]
	d.Rows = make([]phoneRow, 0, len(hits))
	for _, e := range hits {
		d.Rows = append(d.Rows, rowOf(e, now))
	}
	query := func(page int) string {
		v := url.Values{}
		if show != "all" {
			v.Set("show", show)
		}
		if d.Q != "" {
			v.Set("q", d.Q)
		}
		if page > 1 {
			v.Set("page", strconv.Itoa(page))
		}
		return v.Encode()
	}
	d.Query = query(d.Page)
	if d.Page > 1 {
		d.Prev = query(d.Page - 1)
		if d.Prev == "" {
			d.Prev = "show=all"
		}
	}
	if d.Page < d.Pages {
		d.Next = query(d.Page + 1)
	}
	return d
}

// home is the login form (or first-boot setup) for a stranger, the
// phones table for the admin.
func (p *pages) home(w http.ResponseWriter, r *http.Request) {
	sess := p.sessionFor(r)
	if sess == nil && p.Coord.HasAdmin() && !wantsHTML(r) {
		// A script (curl, a monitoring check) gets the API's answer.
		w.Header().Set("WWW-Authenticate", `Basic realm="pnpbox", charset="UTF-8"`)
		writeError(w, http.StatusUnauthorized, "log in as admin with the box's admin password")
		return
	}
	if sess == nil {
		p.loginPage(w, http.StatusOK, "")
		return
	}
	d := p.phonesView(r.URL.Query())
	v := p.viewFor(sess, "Phones", "phones")
	d.Summary = v.summary
	v.Data = d
	p.render(w, http.StatusOK, "phones", v.tmplView)
}

// wantsHTML reports whether the request comes from a browser (which asks
// for text/html when it navigates).
func wantsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// live is the table alone, for the page's script to swap in.
func (p *pages) live(w http.ResponseWriter, r *http.Request, _ *session) {
	var buf bytes.Buffer
	if err := p.tmpl["live"].Execute(&buf, p.phonesView(r.URL.Query())); err != nil {
		p.Log.Error("page: live table", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}

// provisionAll is the page's button: the same action as the box's.
func (p *pages) provisionAll(w http.ResponseWriter, r *http.Request, s *session) {
	sum, err := p.Coord.ProvisionAll()
	msg := ""
	if err != nil {
		_, msg = p.classify(err)
	}
	p.sess.setFlash(s, msg, &sum)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// flashView is a tmplView with the one-time summary taken from the session.
type flashView struct {
	tmplView
	summary *provision.Summary
}

// viewFor starts a logged-in page: title, menu entry, the flash message
// and the LED.
func (p *pages) viewFor(s *session, title, nav string) flashView {
	msg, sum := p.sess.takeFlash(s)
	return flashView{tmplView: tmplView{Title: title, Nav: nav, LoggedIn: true, Flash: msg, LED: p.Box().LED, Alerts: p.Coord.Alerts()}, summary: sum}
}
