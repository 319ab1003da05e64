package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/pnpbox/pnpbox/appliance"
)

// settingField is one field of the settings form: its JSON name in
// GET|PUT /api/settings, a label and a one-line explanation.
type settingField struct {
	Name, Label, Help string
	Kind              string // text, int, list, select, check, password
	Options           []string
	Value             string
	Checked           bool // check: on; password: one is set
	Err               string
}

type settingGroup struct {
	Name   string
	Fields []settingField
}

// settingsForm lists the form's fields. The nested and raw ones
// (auto_provision, model_defaults, p_values) are the API's.
var settingsForm = []settingGroup{
	{"Phones register with", []settingField{
		{Name: "sip_server", Label: "SIP server", Help: "Your PBX, as host or host:port; an assignment's own server wins.", Kind: "text"},
		{Name: "outbound_proxy", Label: "Outbound proxy", Help: "Optional: a proxy phones send all their SIP through.", Kind: "text"},
		{Name: "codecs", Label: "Codecs", Help: "In order of preference, comma-separated: PCMU, PCMA, G722, G729, G726-32, G723, iLBC, OPUS.", Kind: "list"},
		{Name: "timezone", Label: "Time zone", Help: "What the phones' clocks show, e.g. Europe/Berlin.", Kind: "text"},
		{Name: "ntp_server", Label: "NTP server", Help: "Where the phones set their clocks from.", Kind: "text"},
		{Name: "voicemail_number", Label: "Voicemail number", Help: "What the phones dial for voicemail, e.g. *97.", Kind: "text"},
		{Name: "language", Label: "Phone language", Help: "Display language code: en, de, fr, … or auto.", Kind: "text"},
	}},
	{"Provisioning", []settingField{
		{Name: "provision_mode", Label: "Provision mode", Help: "button: phones get their NOTIFY when the button (on the box or this page) is pressed; auto: as soon as a phone that has announced itself has an assignment.", Kind: "select", Options: []string{appliance.ModeButton, appliance.ModeAuto}},
		{Name: "notify_url_form", Label: "Config URL form", Help: "file: the vendor guide's …/cfg<MAC> (the default); folder: …/ for firmware that wants the folder.", Kind: "select", Options: []string{appliance.URLFormFile, appliance.URLFormFolder}},
		{Name: "config_server_path", Label: "Config server after the first download", Help: "host[:port]/path without http://; empty: this box.", Kind: "text"},
		{Name: "config_protocol", Label: "Config protocol", Help: "How phones fetch their config later.", Kind: "select", Options: []string{"", appliance.ProtocolHTTP, appliance.ProtocolHTTPS, appliance.ProtocolTFTP}},
		{Name: "firmware_server_path", Label: "Firmware server", Help: "host[:port]/path where phones look for firmware; empty: leave the phone's.", Kind: "text"},
		{Name: "firmware_protocol", Label: "Firmware protocol", Help: "How phones fetch firmware.", Kind: "select", Options: []string{"", appliance.ProtocolHTTP, appliance.ProtocolHTTPS, appliance.ProtocolTFTP}},
		{Name: "phone_admin_password", Label: "Phones' web admin password", Help: "The same for every phone; empty: each phone gets its own random one (shown on its page on request).", Kind: "password"},
		{Name: "legacy_binary", Label: "Also serve the legacy binary cfg<MAC> file", Help: "Only for old firmware that cannot read the XML config.", Kind: "check"},
	}},
	{"Which phones are taken in", []settingField{
		{Name: "extension_pool", Label: "Extension pool", Help: "Extensions a press gives discovered phones without an assignment, e.g. 200-299 or 200-249,300-310; empty: no pool.", Kind: "text"},
		{Name: "pool_password_length", Label: "Pool password length", Help: "Length of the SIP passwords generated for pool extensions (12-64; empty: 20).", Kind: "int"},
		{Name: "pool_max_per_press", Label: "Pool extensions per press at most", Help: "Guards against a rogue device emptying the pool; empty: no limit.", Kind: "int"},
		{Name: "unknown_phones", Label: "Unknown phones", Help: "list: record every phone that announces itself; ignore: only pre-staged and allowed MACs (others are answered, counted, not listed).", Kind: "select", Options: []string{appliance.UnknownList, appliance.UnknownIgnore}},
		{Name: "allow_macs", Label: "Allowed MACs", Help: "MACs or prefixes (an OUI such as 000B82) taken in even when unknown phones are ignored; comma-separated.", Kind: "list"},
		{Name: "deny_macs", Label: "Denied MACs", Help: "MACs or prefixes never recorded or provisioned; deny wins over allow.", Kind: "list"},
	}},
}

// settingsFormValues are the current settings as the form's strings.
func settingsFormValues(set appliance.Settings) map[string]any {
	raw, _ := json.Marshal(set)
	var m map[string]any
	json.Unmarshal(raw, &m)
	return m
}

// fillSettingsForm returns the form with current values (or, after a failed
// save, the posted ones) and the error beside its field.
func fillSettingsForm(set appliance.Settings, posted url.Values, err error) []settingGroup {
	cur := settingsFormValues(set)
	var fe *appliance.FieldError
	errors.As(err, &fe)
	out := make([]settingGroup, len(settingsForm))
	for gi, g := range settingsForm {
		out[gi] = settingGroup{Name: g.Name, Fields: make([]settingField, len(g.Fields))}
		for fi, f := range g.Fields {
			switch v := cur[f.Name].(type) {
			case string:
				if f.Kind == "password" {
					f.Checked = v != ""
				} else {
					f.Value = v
				}
			case bool:
				f.Checked = v
			case float64:
				if v != 0 {
					f.Value = strconv.FormatFloat(v, 'f', -1, 64)
				}
			case []any:
				var parts []string
				for _, x := range v {
					parts = append(parts, x.(string))
				}
				f.Value = strings.Join(parts, ", ")
			}
			if posted != nil && f.Kind != "password" {
				f.Value = posted.Get(f.Name)
				f.Checked = posted.Get(f.Name) != ""
			}
			if fe != nil && (fe.Field == f.Name || strings.HasPrefix(fe.Field, f.Name+"[") || strings.HasPrefix(fe.Field, f.Name+".")) {
				f.Err = fe.Msg
			}
			out[gi].Fields[fi] = f
		}
	}
	return out
}

// settingsFormPatch turns the posted form into the JSON object that
// PUT /api/settings would merge.
func settingsFormPatch(form url.Values) ([]byte, error) {
	patch := map[string]any{}
	for _, g := range settingsForm {
		for _, f := range g.Fields {
			v := strings.TrimSpace(form.Get(f.Name))
			switch f.Kind {
			case "check":
				patch[f.Name] = v != ""
			case "password":
				if form.Get(f.Name+"_clear") != "" {
					patch[f.Name] = ""
				} else if form.Get(f.Name) != "" {
					patch[f.Name] = form.Get(f.Name)
				}
			case "int":
				n := 0
				if v != "" {
					var err error
					if n, err = strconv.Atoi(v); err != nil {
						return nil, &appliance.FieldError{Field: f.Name, Msg: "a whole number"}
					}
				}
				patch[f.Name] = n
			case "list":
				list := []string{}
				for x := range strings.FieldsFuncSeq(v, func(r rune) bool { return r == ',' || r == ';' || r == ' ' }) {
					list = append(list, x)
				}
				patch[f.Name] = list
			default:
				patch[f.Name] = v
			}
		}
	}
	return json.Marshal(patch)
}

type settingsData struct{ Groups []settingGroup }

func (p *pages) settingsPage(w http.ResponseWriter, r *http.Request, s *session) {
	v := p.viewFor(s, "Settings", "settings")
	v.Data = settingsData{fillSettingsForm(p.Coord.Settings(), nil, nil)}
	p.render(w, http.StatusOK, "settings", v.tmplView)
}

func (p *pages) settingsSave(w http.ResponseWriter, r *http.Request, s *session) {
	r.ParseForm()
	patch, err := settingsFormPatch(r.PostForm)
	if err == nil {
		// The same decoding as PUT /api/settings, then the same checks.
		_, err = p.Coord.UpdateSettings(func(cur appliance.Settings) (appliance.Settings, error) {
			next, err := decodeOver(cur, patch)
			if err != nil {
				return cur, &appliance.FieldError{Field: "settings", Msg: err.Error()}
			}
			return next, nil
		})
	}
	if err != nil {
		v := p.viewFor(s, "Settings", "settings")
		_, v.Error = p.pageError(err)
		v.Error = "Not saved: " + v.Error
		v.Data = settingsData{fillSettingsForm(p.Coord.Settings(), r.PostForm, err)}
		p.render(w, http.StatusBadRequest, "settings", v.tmplView)
		return
	}
	p.Log.Info("page: settings saved", "ip", clientAddr(r).String())
	p.seeOther(w, r, s, "/settings", "Settings saved.")
}
