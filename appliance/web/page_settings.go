package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/pnpbox/pnpbox/appliance"
)

// settingField is one field of the settings form: its JSON name in
// GET|PUT /api/settings, a label and a one-line explanation.
type settingField struct {
	Name, Label, Help string
	Kind              string // text, int, intopt (empty: not set), list, select, check, password, pairs (lines of P=value)
	Options           []string
	Value             string
	Checked           bool // check: on; password: one is set
	Err               string
}

type settingGroup struct {
	Name   string
	Fields []settingField
}

// settingsForm lists the form's fields: every field of appliance.Settings
// (a nested one named with a dot, as auto_provision.mode).
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
		{Name: "notify_url_form", Label: "NOTIFY URL form", Help: "auto (the default): each model family's form (docs/models.md); file: …/cfg<MAC> for every phone; folder: …/ for every phone. A phone's own choice on its assignment wins.", Kind: "select", Options: []string{appliance.URLFormAuto, appliance.URLFormFile, appliance.URLFormFolder}},
		{Name: "config_server_path", Label: "Config server after the first download", Help: "host[:port]/path without http://; empty: this box.", Kind: "text"},
		{Name: "config_protocol", Label: "Config protocol", Help: "How phones fetch their config later.", Kind: "select", Options: []string{"", appliance.ProtocolHTTP, appliance.ProtocolHTTPS, appliance.ProtocolTFTP}},
		{Name: "firmware_server_path", Label: "Firmware server", Help: "host[:port]/path where phones look for firmware; empty: leave the phone's.", Kind: "text"},
		{Name: "firmware_protocol", Label: "Firmware protocol", Help: "How phones fetch firmware.", Kind: "select", Options: []string{"", appliance.ProtocolHTTP, appliance.ProtocolHTTPS, appliance.ProtocolTFTP}},
		{Name: "phone_admin_password", Label: "Phones' web admin password", Help: "The same for every phone; empty: each phone gets its own random one (shown on its page on request).", Kind: "password"},
		{Name: "legacy_binary", Label: "Also serve the legacy binary cfg<MAC> file", Help: "Only for old firmware that cannot read the XML config.", Kind: "check"},
		{Name: "keep_pnp", Label: "Keep the phones' own Plug-and-Play on", Help: "Off (the default): a provisioned phone stops multicasting its SUBSCRIBE at boot, so no other box on the LAN can take it over; on while phones still move between boxes.", Kind: "check"},
	}},
	{"The phones' own config check", []settingField{
		{Name: "auto_provision.mode", Label: "When phones check for a new config", Help: "Empty: leave the phone's setting; no: never; every_minutes, hour_of_day or day_of_week with the values below.", Kind: "select", Options: []string{"", appliance.AutoProvisionNo, appliance.AutoProvisionEveryMinutes, appliance.AutoProvisionHourOfDay, appliance.AutoProvisionDayOfWeek}},
		{Name: "auto_provision.interval_minutes", Label: "Every … minutes", Help: "For every_minutes: 60-86400; empty: the phone's default (a week).", Kind: "int"},
		{Name: "auto_provision.hour", Label: "Hour of day", Help: "For hour_of_day and day_of_week: 0-23; empty: the phone's default.", Kind: "intopt"},
		{Name: "auto_provision.day_of_week", Label: "Day of week", Help: "For day_of_week: 0-6, as the phone counts (0 is Sunday); empty: the phone's default.", Kind: "intopt"},
	}},
	{"Raw vendor values", []settingField{
		{Name: "p_values", Label: "P-values for every phone", Help: "One per line, P1234=value: Grandstream settings the form has no field for; they win over everything the box renders.", Kind: "pairs"},
		{Name: "model_defaults", Label: "P-values per model", Help: "One per line, MODEL P1234=value (e.g. GXP2160 P1362=de): between the site's values and the phone's own.", Kind: "pairs"},
	}},
	{"Security", []settingField{
		{Name: "https_only", Label: "Page and API over HTTPS only", Help: "Plain HTTP then answers only the phones' config files and /healthz and redirects the rest to HTTPS. Off by default: the first visit (claiming the box, reading its certificate's fingerprint) must work before the certificate is trusted.", Kind: "check"},
		{Name: "token_bind_ip", Label: "Serve a phone's config only to its own address", Help: "A config download must come from the address the phone last announced itself from. Off by default: a phone that changes address would be refused until it announces itself again.", Kind: "check"},
		{Name: "download_budget", Label: "Downloads per config version at most", Help: "After this many downloads of one config version the phone's token stops serving it until the config changes; empty or 0: no limit (phones re-check their config on their own schedule).", Kind: "int"},
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
			var val any = cur[f.Name]
			if top, sub, nested := strings.Cut(f.Name, "."); nested {
				obj, _ := cur[top].(map[string]any)
				val = obj[sub]
			}
			if f.Kind == "intopt" {
				if n, ok := val.(float64); ok {
					f.Value = strconv.FormatFloat(n, 'f', -1, 64)
				}
				val = nil
			}
			if f.Kind == "pairs" {
				f.Value = pairLines(f.Name, val)
				val = nil
			}
			switch v := val.(type) {
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

// pairLines shows p_values ({"P30":"x"}) or model_defaults
// ({"GXP2160":{"p_values":{…}}}) as the form's lines, sorted.
func pairLines(name string, v any) string {
	obj, _ := v.(map[string]any)
	var lines []string
	for k, x := range obj {
		if name == "model_defaults" {
			layer, _ := x.(map[string]any)
			pv, _ := layer["p_values"].(map[string]any)
			for p, val := range pv {
				lines = append(lines, fmt.Sprintf("%s %s=%v", k, p, val))
			}
			continue
		}
		lines = append(lines, fmt.Sprintf("%s=%v", k, x))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// parsePairs reads the lines of a pairs field: P-values, or for
// model_defaults model and P-value. The maps replace the stored ones.
func parsePairs(name, text string) (map[string]string, map[string]appliance.ModelLayer, error) {
	pv, md := map[string]string{}, map[string]appliance.ModelLayer{}
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		model := ""
		if name == "model_defaults" {
			var ok bool
			if model, line, ok = strings.Cut(line, " "); !ok {
				return nil, nil, &appliance.FieldError{Field: name, Msg: fmt.Sprintf("line %d: MODEL P1234=value", i+1)}
			}
			line = strings.TrimSpace(line)
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, nil, &appliance.FieldError{Field: name, Msg: fmt.Sprintf("line %d: P1234=value", i+1)}
		}
		k = strings.TrimSpace(k)
		if model == "" {
			pv[k] = v
			continue
		}
		model = strings.ToUpper(model)
		layer := md[model]
		if layer.PValues == nil {
			layer.PValues = map[string]string{}
		}
		layer.PValues[k] = v
		md[model] = layer
	}
	if len(pv) == 0 {
		pv = nil
	}
	if len(md) == 0 {
		md = nil
	}
	return pv, md, nil
}

// settingsFormPatch turns the posted form into the JSON object that
// PUT /api/settings would merge (pairs fields are parsePairs').
func settingsFormPatch(form url.Values) ([]byte, error) {
	patch := map[string]any{}
	for _, g := range settingsForm {
		for _, f := range g.Fields {
			v := strings.TrimSpace(form.Get(f.Name))
			into := patch
			name := f.Name
			if top, sub, nested := strings.Cut(f.Name, "."); nested {
				obj, _ := patch[top].(map[string]any)
				if obj == nil {
					obj = map[string]any{}
					patch[top] = obj
				}
				into, name = obj, sub
			}
			switch f.Kind {
			case "pairs":
				continue
			case "intopt":
				if v == "" {
					into[name] = nil
					continue
				}
				n, err := strconv.Atoi(v)
				if err != nil {
					return nil, &appliance.FieldError{Field: f.Name, Msg: "a whole number"}
				}
				into[name] = n
				continue
			}
			patch := into
			f.Name = name
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
	var pv map[string]string
	var md map[string]appliance.ModelLayer
	if err == nil {
		pv, _, err = parsePairs("p_values", r.PostForm.Get("p_values"))
	}
	if err == nil {
		_, md, err = parsePairs("model_defaults", r.PostForm.Get("model_defaults"))
	}
	if err == nil {
		// The same decoding as PUT /api/settings, then the same checks.
		_, err = p.Coord.UpdateSettings(func(cur appliance.Settings) (appliance.Settings, error) {
			next, err := decodeOver(cur, patch)
			if err != nil {
				return cur, &appliance.FieldError{Field: "settings", Msg: err.Error()}
			}
			next.PValues, next.ModelDefaults = pv, md
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
