package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/appliance/provision"
	"github.com/pnpbox/pnpbox/appliance/store"
)

// phoneData is a phone's own page.
type phoneData struct {
	E             provision.Entry
	Row           phoneRow
	Codecs, Keys  string
	Preview       string
	PreviewErr    string
	Events        []appliance.Event
	AdminPassword string // only after an explicit request
	Seen          bool
	Warnings      []string // the extension's: other phones hold it too
	Displaced     string   // why the box lost the phone's address, or ""
}

// pageError says what went wrong in words for a page: the same mapping
// as the API's, field errors as they are.
func (p *pages) pageError(err error) (int, string) {
	var fe *appliance.FieldError
	if errors.As(err, &fe) {
		return http.StatusBadRequest, fe.Error()
	}
	return p.classify(err)
}

// entryFor looks up the phone in the path, answering 400/404 itself.
func (p *pages) entryFor(w http.ResponseWriter, r *http.Request, s *session) (provision.Entry, bool) {
	m, err := appliance.ParseMAC(r.PathValue("mac"))
	if err == nil {
		var e provision.Entry
		if e, err = p.Coord.Phone(m); err == nil {
			return e, true
		}
	}
	code, msg := http.StatusBadRequest, err.Error()
	if errors.Is(err, provision.ErrNotFound) {
		code, msg = http.StatusNotFound, "The box knows no phone "+r.PathValue("mac")+"."
	}
	v := p.viewFor(s, "No such phone", "phones")
	v.Error = msg
	v.Data = p.phonesView(url.Values{})
	p.render(w, code, "phones", v.tmplView)
	return provision.Entry{}, false
}

func (p *pages) phonePage(w http.ResponseWriter, r *http.Request, s *session) {
	e, ok := p.entryFor(w, r, s)
	if !ok {
		return
	}
	p.showPhone(w, s, e, "")
}

func (p *pages) showPhone(w http.ResponseWriter, s *session, e provision.Entry, adminPW string) {
	m := e.Phone.MAC
	d := phoneData{E: e, Row: rowOf(e, p.Now()), AdminPassword: adminPW, Seen: e.Phone.Seen(),
		Warnings: p.Coord.ExtensionWarnings(m), Displaced: displacedWords(e.Phone)}
	if a := e.Assignment; a != nil {
		d.Codecs = strings.Join(a.Codecs, ", ")
		var keys []string
		for i, k := range a.Keys {
			keys = append(keys, fmt.Sprintf("%d. %s %s %s", i+1, k.Type, k.Value, k.Label))
		}
		d.Keys = strings.Join(keys, " · ")
		if body, err := p.Coord.Preview(m); err != nil {
			_, d.PreviewErr = p.pageError(err)
		} else {
			d.Preview = string(body)
		}
	}
	evs, err := p.Coord.Events(store.EventFilter{MAC: &m, Limit: 200})
	if err != nil {
		_, d.PreviewErr = p.pageError(err)
	}
	slices.Reverse(evs) // newest first
	d.Events = evs
	v := p.viewFor(s, "Phone "+m.String(), "phones")
	v.Data = d
	p.render(w, http.StatusOK, "phone", v.tmplView)
}

// provisionOne sends this phone its NOTIFY now.
func (p *pages) provisionOne(w http.ResponseWriter, r *http.Request, s *session) {
	e, ok := p.entryFor(w, r, s)
	if !ok {
		return
	}
	msg := "NOTIFY sent: the phone should fetch its config within seconds."
	if err := p.Coord.Provision(e.Phone.MAC); err != nil {
		_, msg = p.pageError(err)
		msg = "Not sent: " + msg
	}
	p.seeOther(w, r, s, "/phones/"+e.Phone.MAC.String(), msg)
}

// forget removes the phone's assignment: a pre-staged phone is forgotten
// entirely; a phone the box has seen stays listed, as discovered.
func (p *pages) forget(w http.ResponseWriter, r *http.Request, s *session) {
	e, ok := p.entryFor(w, r, s)
	if !ok {
		return
	}
	m := e.Phone.MAC
	if e.Assignment == nil {
		p.seeOther(w, r, s, "/phones/"+m.String(), "This phone has no assignment; the box keeps the record of a phone it has seen.")
		return
	}
	if err := p.Coord.Unassign(m); err != nil {
		_, msg := p.pageError(err)
		p.seeOther(w, r, s, "/phones/"+m.String(), "Not removed: "+msg)
		return
	}
	if !e.Phone.Seen() {
		p.seeOther(w, r, s, "/", "Forgot the pre-staged phone "+m.String()+".")
		return
	}
	p.seeOther(w, r, s, "/phones/"+m.String(), "Assignment removed: the phone is discovered again.")
}

// forgetPhone forgets the phone entirely (provision.Coordinator.Forget):
// record, token and assignment. A phone that boots again is discovered anew.
func (p *pages) forgetPhone(w http.ResponseWriter, r *http.Request, s *session) {
	e, ok := p.entryFor(w, r, s)
	if !ok {
		return
	}
	m := e.Phone.MAC
	if err := p.Coord.Forget(m); err != nil {
		_, msg := p.pageError(err)
		p.seeOther(w, r, s, "/phones/"+m.String(), "Not forgotten: "+msg)
		return
	}
	p.Log.Info("page: phone forgotten", "mac", m.String(), "ip", clientAddr(r).String())
	p.seeOther(w, r, s, "/", "Forgot "+m.String()+": its record, its config URL and its assignment are gone. If it boots again it is listed as a new phone.")
}

// displacedWords says which phone took p's address, or "".
func displacedWords(p appliance.Phone) string {
	d := p.Displaced
	if d == nil {
		return ""
	}
	return "another phone took this address: " + d.Addr.String() + " (" + d.By.String() + ")"
}

// revealAdmin shows the phone's web admin password on the phone's page,
// once, because the installer asked (a POST: never in a URL or history).
func (p *pages) revealAdmin(w http.ResponseWriter, r *http.Request, s *session) {
	e, ok := p.entryFor(w, r, s)
	if !ok {
		return
	}
	pw, err := p.Coord.PhoneAdminPassword(e.Phone.MAC)
	if err != nil {
		_, pw = p.pageError(err)
	}
	p.Log.Info("page: phone admin password shown", "mac", e.Phone.MAC.String(), "ip", clientAddr(r).String())
	p.showPhone(w, s, e, pw)
}
