package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/appliance/profile"
	"github.com/pnpbox/pnpbox/appliance/provision"
)

// keyRow is one programmable key in the form.
type keyRow struct {
	I                           int
	Type, Value, Label, Account string
	Err                         string
}

// accountRow is one extra SIP account (account 2 onwards) in the form.
// I is its position in the stored list, so an empty password keeps that
// account's stored one.
type accountRow struct {
	I                                      int
	Extension, DisplayName, AuthID, Server string
	PasswordSet                            bool
	Err                                    string
}

// N is the account's number on the phone (2 onwards).
func (r accountRow) N() int { return r.I + 2 }

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
	Accounts                               []accountRow
	MaxAccounts                            int    // the model's accounts, 0 when not known
	URLForm                                string // notify_url_form: "" is auto
	URLForms                               []string
	PValues                                int // raw P-values the assignment has (API only)
	KeyTypes                               []string
	Limits                                 string
	Errs                                   map[string]string
	Models                                 []string
}

// knownModels are offered for pre-staging: every row of the model table
// (docs/models.md), so keys and extra accounts can be staged for any of them.
func knownModels() []string {
	var names []string
	for _, m := range profile.Models() {
		names = append(names, m.Name)
	}
	return names
}

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
		for i, acc := range a.Accounts {
			d.Accounts = append(d.Accounts, accountRow{I: i, Extension: acc.Extension, DisplayName: acc.DisplayName,
				AuthID: acc.AuthID, Server: acc.SIPServer, PasswordSet: acc.Password != ""})
		}
		d.URLForm, d.PValues = a.NotifyURLForm, len(a.PValues)
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
	d.Models = knownModels()
	model := d.Reported
	if model == "" {
		model = d.Model
	}
	if model == "" {
		model = "GXP2130"
	}
	d.Limits = limitsOf(model)
	d.MaxAccounts = 0
	if m, ok := profile.LookupModel(model); ok {
		d.MaxAccounts = m.Accounts
	}
	// One empty row for a new account while the model has room (or is
	// not known); more than the model takes are refused by Assign.
	if len(d.Accounts) == 0 || d.Accounts[len(d.Accounts)-1].Extension != "" {
		if d.MaxAccounts == 0 || len(d.Accounts)+1 < d.MaxAccounts {
			next := 0
			if n := len(d.Accounts); n > 0 {
				next = d.Accounts[n-1].I + 1
			}
			d.Accounts = append(d.Accounts, accountRow{I: next})
		}
	}
	d.URLForms = []string{appliance.URLFormAuto, appliance.URLFormFile, appliance.URLFormFolder}
	if d.URLForm == "" {
		d.URLForm = appliance.URLFormAuto
	}
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
	if f.Has("notify_url_form") {
		d.URLForm = f.Get("notify_url_form")
	}
	if f.Has("acc_row") {
		stored := map[int]accountRow{}
		for _, r := range d.Accounts {
			stored[r.I] = r
		}
		d.Accounts = nil
		for _, is := range f["acc_row"] {
			i, err := strconv.Atoi(is)
			if err != nil || i < 0 || i > 100 {
				continue
			}
			d.Accounts = append(d.Accounts, accountRow{I: i, Extension: f.Get("acc_ext_" + is), DisplayName: f.Get("acc_dn_" + is),
				AuthID: f.Get("acc_auth_" + is), Server: f.Get("acc_srv_" + is), PasswordSet: stored[i].PasswordSet})
		}
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
// (raw P-values, which the form does not show, are kept). An empty
// password keeps the stored one, for account 1 and each further account;
// an account row whose extension is emptied is removed. form holds the
// posted passwords.
func assignmentOf(d *editData, base *appliance.Assignment, form url.Values) (appliance.Assignment, error) {
	var a appliance.Assignment
	if base != nil {
		a = *base
	}
	a.Extension, a.DisplayName, a.AuthID, a.SIPServer = d.Extension, d.DisplayName, d.AuthID, d.Server
	a.Password = form.Get("password")
	a.Model = strings.TrimSpace(d.Model)
	a.NotifyURLForm = d.URLForm
	a.Accounts = nil
	for _, r := range d.Accounts {
		if strings.TrimSpace(r.Extension) == "" {
			continue
		}
		acc := appliance.Account{Extension: r.Extension, DisplayName: r.DisplayName, AuthID: r.AuthID, SIPServer: r.Server,
			Password: form.Get("acc_pw_" + strconv.Itoa(r.I))}
		if acc.Password == "" && base != nil && r.I < len(base.Accounts) {
			acc.Password = base.Accounts[r.I].Password
		}
		a.Accounts = append(a.Accounts, acc)
	}
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
	if rest, ok := strings.CutPrefix(f, "accounts["); ok {
		// accounts[i] counts the accounts kept, in the form's order.
		if i, err := strconv.Atoi(rest[:max(0, strings.IndexByte(rest, ']'))]); err == nil {
			for j := range d.Accounts {
				if strings.TrimSpace(d.Accounts[j].Extension) == "" {
					continue
				}
				if i == 0 {
					d.Accounts[j].Err = fe.Error()
					return
				}
				i--
			}
		}
	}
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
	a, err := assignmentOf(d, base, r.PostForm)
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
	msg := "Saved: extension " + strings.TrimSpace(a.Extension) + " for " + m.String() + "."
	if warn := p.Coord.ExtensionWarnings(m); len(warn) > 0 {
		msg += " Note: " + strings.Join(warn, "; ") + "."
	}
	p.seeOther(w, r, s, "/phones/"+m.String(), msg)
}
