package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/appliance/profile"
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
	d := phoneData{E: e, Row: rowOf(e, p.Now()), AdminPassword: adminPW, Seen: e.Phone.Seen()}
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

// keyRow is one programmable key in the form.
type keyRow struct {
	I                           int
	Type, Value, Label, Account string
	Err                         string
}

// editData is the assignment form: a phone's, or pre-staging by MAC.
type editData struct {
	Add                                    bool
	MAC                                    string // the phone's, or as typed when adding
	Reported                               string // the model the phone reported
	Model                                  string // the model expected (pre-staging)
	Extension, DisplayName, AuthID, Server string
	Codecs                                 string
	PasswordSet                            bool
	Keys                                   []keyRow
	KeyTypes                               []string
	Limits                                 string
	Errs                                   map[string]string
	Models                                 []string
}

// knownModels are offered for pre-staging.
var knownModels = []string{"GXP2130", "GXP2140", "GXP2160"}

// emptyKeyRows are added to the form each time it is asked for more.
const emptyKeyRows = 3

func limitsOf(model string) string {
	m, ok := profile.LookupModel(model)
	if !ok {
		return ""
	}
	return fmt.Sprintf("%s: up to %d programmable keys, %d SIP accounts.", m.Name, m.Keys(), m.Accounts)
}

// formOf fills the form from a stored assignment.
func formOf(e provision.Entry) editData {
	d := editData{MAC: e.Phone.MAC.String(), Reported: e.Phone.Model}
	if a := e.Assignment; a != nil {
		d.Extension, d.DisplayName, d.AuthID, d.Server = a.Extension, a.DisplayName, a.AuthID, a.SIPServer
		d.Codecs, d.PasswordSet, d.Model = strings.Join(a.Codecs, ", "), a.Password != "", a.Model
		for i, k := range a.Keys {
			acc := ""
			if k.Account > 0 {
				acc = strconv.Itoa(k.Account)
			}
			d.Keys = append(d.Keys, keyRow{I: i, Type: k.Type, Value: k.Value, Label: k.Label, Account: acc})
		}
	}
	return d
}

// finish adds what every rendering of the form needs.
func (d *editData) finish() {
	for len(d.Keys) == 0 || d.Keys[len(d.Keys)-1].Type != "" {
		d.Keys = append(d.Keys, keyRow{})
		if len(d.Keys) >= emptyKeyRows && d.Keys[len(d.Keys)-1].Type == "" {
			break
		}
	}
	for i := range d.Keys {
		d.Keys[i].I = i
	}
	d.KeyTypes = profile.KeyTypes()
	d.Models = knownModels
	model := d.Reported
	if model == "" {
		model = d.Model
	}
	if model == "" {
		model = "GXP2130"
	}
	d.Limits = limitsOf(model)
	if d.Errs == nil {
		d.Errs = map[string]string{}
	}
}

// readForm reads the posted form into d (keys in the order shown, the
// ones ticked "remove" left out) and applies a move-up request.
func readForm(r *http.Request, d *editData) {
	f := r.PostForm
	d.Extension, d.DisplayName = f.Get("extension"), f.Get("display_name")
	d.AuthID, d.Server, d.Codecs = f.Get("auth_id"), f.Get("sip_server"), f.Get("codecs")
	if f.Has("model") {
		d.Model = f.Get("model")
	}
	n, _ := strconv.Atoi(f.Get("key_rows"))
	n = min(max(n, 0), 100)
	d.Keys = nil
	for i := range n {
		is := strconv.Itoa(i)
		if f.Get("key_remove_"+is) != "" {
			continue
		}
		k := keyRow{Type: f.Get("key_type_" + is), Value: f.Get("key_value_" + is), Label: f.Get("key_label_" + is), Account: f.Get("key_account_" + is)}
		if k == (keyRow{}) {
			continue
		}
		if strings.HasPrefix(f.Get("do"), "up-") && f.Get("do") == "up-"+is && len(d.Keys) > 0 {
			d.Keys = append(d.Keys[:len(d.Keys)-1], k, d.Keys[len(d.Keys)-1])
			continue
		}
		d.Keys = append(d.Keys, k)
	}
}

// assignmentOf turns the form into an assignment on top of the stored one
// (accounts 2 onwards and raw P-values, which the form does not show,
// are kept). An empty password keeps the stored one.
func assignmentOf(d *editData, base *appliance.Assignment, password string) (appliance.Assignment, error) {
	var a appliance.Assignment
	if base != nil {
		a = *base
	}
	a.Extension, a.DisplayName, a.AuthID, a.SIPServer = d.Extension, d.DisplayName, d.AuthID, d.Server
	a.Password = password
	a.Model = strings.TrimSpace(d.Model)
	a.Codecs = nil
	for c := range strings.FieldsFuncSeq(d.Codecs, func(r rune) bool { return r == ',' || r == ';' || r == ' ' }) {
		a.Codecs = append(a.Codecs, c)
	}
	a.Keys = nil
	last := -1
	for i, k := range d.Keys {
		if k.Type != "" || k.Value != "" || k.Label != "" {
			last = i
		}
	}
	for i, k := range d.Keys[:last+1] {
		key := appliance.Key{Type: k.Type, Value: strings.TrimSpace(k.Value), Label: strings.TrimSpace(k.Label)}
		if key.Type == "" {
			key.Type = "none"
		}
		if k.Account != "" {
			n, err := strconv.Atoi(strings.TrimSpace(k.Account))
			if err != nil || n < 1 {
				return a, &appliance.FieldError{Field: fmt.Sprintf("keys[%d].account", i), Msg: "an account number (1, 2, …)"}
			}
			key.Account = n
		}
		a.Keys = append(a.Keys, key)
	}
	return a, nil
}

// fieldOf maps a validation error's field to the form's fields: "keys[3].value"
// goes to key row 3, "codecs[1]" to codecs.
func (d *editData) setErr(err error) {
	var fe *appliance.FieldError
	if !errors.As(err, &fe) {
		return
	}
	f := fe.Field
	if rest, ok := strings.CutPrefix(f, "keys["); ok {
		if i, err := strconv.Atoi(rest[:max(0, strings.IndexByte(rest, ']'))]); err == nil && i < len(d.Keys) {
			d.Keys[i].Err = fe.Error()
			return
		}
	}
	if i := strings.IndexAny(f, "[."); i > 0 {
		f = f[:i]
	}
	d.Errs[f] = fe.Msg
}

func (p *pages) editForm(w http.ResponseWriter, r *http.Request, s *session) {
	e, ok := p.entryFor(w, r, s)
	if !ok {
		return
	}
	d := formOf(e)
	p.showForm(w, s, http.StatusOK, &d, "")
}

func (p *pages) addForm(w http.ResponseWriter, r *http.Request, s *session) {
	d := editData{Add: true, MAC: r.URL.Query().Get("mac")}
	p.showForm(w, s, http.StatusOK, &d, "")
}

func (p *pages) showForm(w http.ResponseWriter, s *session, code int, d *editData, msg string) {
	d.finish()
	title := "Assign " + d.MAC
	if d.Add {
		title = "Add a phone by MAC"
	}
	v := p.viewFor(s, title, "phones")
	if d.Add {
		v.Nav = "add"
	}
	v.Error = msg
	v.Data = d
	p.render(w, code, "edit", v.tmplView)
}

func (p *pages) editSave(w http.ResponseWriter, r *http.Request, s *session) {
	e, ok := p.entryFor(w, r, s)
	if !ok {
		return
	}
	d := formOf(e)
	p.save(w, r, s, &d, e.Phone.MAC, e.Assignment)
}

func (p *pages) addSave(w http.ResponseWriter, r *http.Request, s *session) {
	d := editData{Add: true}
	r.ParseForm()
	d.MAC = r.PostForm.Get("mac")
	m, err := appliance.ParseMAC(d.MAC)
	if err != nil && r.PostForm.Get("do") == "save" {
		readForm(r, &d)
		d.finish()
		d.Errs["mac"] = "12 hex digits as on the sticker (000B82A1B2C3, 00:0B:82:A1:B2:C3, 000b.82a1.b2c3 …)"
		p.showForm(w, s, http.StatusBadRequest, &d, "")
		return
	}
	var base *appliance.Assignment
	if err == nil {
		if e, err := p.Coord.Phone(m); err == nil {
			base = e.Assignment
			d.Reported = e.Phone.Model
			d.PasswordSet = base != nil && base.Password != ""
		}
	}
	p.save(w, r, s, &d, m, base)
}

// save validates and stores the posted form with the coordinator's own
// rules (the API's), or shows the form again with the message beside
// the field. "Add key rows" and "move up" only redraw the form.
func (p *pages) save(w http.ResponseWriter, r *http.Request, s *session, d *editData, m appliance.MAC, base *appliance.Assignment) {
	r.ParseForm()
	readForm(r, d)
	if r.PostForm.Get("do") != "save" {
		if r.PostForm.Get("do") == "add-keys" {
			for range emptyKeyRows {
				d.Keys = append(d.Keys, keyRow{})
			}
		}
		p.showForm(w, s, http.StatusOK, d, "")
		return
	}
	d.finish()
	a, err := assignmentOf(d, base, r.PostForm.Get("password"))
	if err == nil {
		_, err = p.Coord.Assign(m, a)
	}
	if err != nil {
		d.setErr(err)
		var fe *appliance.FieldError
		msg := ""
		if errors.As(err, &fe) {
			msg = "Not saved: " + fe.Error() + " (marked below)."
		} else {
			_, msg = p.pageError(err)
			msg = "Not saved: " + msg
		}
		p.showForm(w, s, http.StatusBadRequest, d, msg)
		return
	}
	p.seeOther(w, r, s, "/phones/"+m.String(), "Saved: extension "+strings.TrimSpace(a.Extension)+" for "+m.String()+".")
}
