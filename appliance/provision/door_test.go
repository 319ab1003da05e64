package provision

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pnpbox/pnpbox/appliance"
)

// A value the renderer cannot write: U+FFFF is no control character, so
// the vendor-neutral checks let it pass, but XML 1.0 cannot carry it.
const noXML = "\uffff"

func fieldOf(err error) string {
	var fe *appliance.FieldError
	if errors.As(err, &fe) {
		return fe.Field
	}
	return ""
}

// assignmentFieldCases are every assignment field path that reaches a
// config, each with a value the renderer refuses, and the field the
// refusal must name.
var assignmentFieldCases = []struct {
	field string
	edit  func(a *appliance.Assignment)
}{
	{"display_name", func(a *appliance.Assignment) { a.DisplayName = "Front" + noXML + "Desk" }},
	{"extension", func(a *appliance.Assignment) { a.Extension = "2" + noXML }},
	{"password", func(a *appliance.Assignment) { a.Password = "pw" + noXML }},
	{"auth_id", func(a *appliance.Assignment) { a.AuthID = "a" + noXML }},
	{"sip_server", func(a *appliance.Assignment) { a.SIPServer = "pbx" + noXML }},
	{"codecs[0]", func(a *appliance.Assignment) { a.Codecs = []string{"PCM" + noXML} }},
	{"model", func(a *appliance.Assignment) { a.Model = "GXP" + noXML }},
	{"accounts[0].display_name", func(a *appliance.Assignment) {
		a.Accounts = []appliance.Account{{Extension: "301", Password: "pw", DisplayName: noXML}}
	}},
	{"accounts[0].extension", func(a *appliance.Assignment) { a.Accounts = []appliance.Account{{Extension: noXML, Password: "pw"}} }},
	{"accounts[0].password", func(a *appliance.Assignment) { a.Accounts = []appliance.Account{{Extension: "301", Password: noXML}} }},
	{"accounts[0].auth_id", func(a *appliance.Assignment) {
		a.Accounts = []appliance.Account{{Extension: "301", Password: "pw", AuthID: noXML}}
	}},
	{"accounts[0].sip_server", func(a *appliance.Assignment) {
		a.Accounts = []appliance.Account{{Extension: "301", Password: "pw", SIPServer: noXML}}
	}},
	{"keys[0].label", func(a *appliance.Assignment) { a.Keys = []appliance.Key{{Type: "blf", Value: "202", Label: noXML}} }},
	{"keys[0].value", func(a *appliance.Assignment) { a.Keys = []appliance.Key{{Type: "blf", Value: "20" + noXML}} }},
	{"keys[0].type", func(a *appliance.Assignment) { a.Keys = []appliance.Key{{Type: noXML, Value: "202"}} }},
	{"p_values.P30", func(a *appliance.Assignment) { a.PValues = map[string]string{"P30": "ntp" + noXML} }},
	{"p_values", func(a *appliance.Assignment) { a.PValues = map[string]string{"P" + noXML: "1"} }},
}

// The input and the kind: every assignment field that reaches a
// config is refused by the renderer's rules at the door, naming the
// field, and nothing is stored.
func TestAssignRefusesWhatRendererCannotWrite(t *testing.T) {
	for _, tc := range assignmentFieldCases {
		t.Run(tc.field, func(t *testing.T) {
			f := newFixture(t)
			m := mac(t, "000B82000001")
			f.c.discover(disc(m, "198.18.0.100", "c1")) // a GXP2140: 4 accounts, 12 keys
			a := assignment
			tc.edit(&a)
			_, err := f.c.Assign(m, a)
			if got := fieldOf(err); got != tc.field {
				t.Fatalf("Assign: %v (field %q), want a field error on %q", err, got, tc.field)
			}
			if e, _ := f.c.Phone(m); e.Assignment != nil {
				t.Errorf("stored after refusal: %+v", e.Assignment)
			}
			// The same assignment before the phone is seen (pre-staged
			// with a model): refused the same way.
			p := mac(t, "000B82000002")
			a.Model = "GXP2140"
			if tc.field == "model" {
				a.Model = "GXP" + noXML
			}
			if _, err := f.c.Assign(p, a); fieldOf(err) != tc.field {
				t.Errorf("pre-staged: %v, want a field error on %q", err, tc.field)
			}
		})
	}
}

// The CSV import refuses what the API refuses, by the same check, with
// the line and the field.
func TestImportRefusesWhatRendererCannotWrite(t *testing.T) {
	for _, tc := range []struct{ field, row string }{
		{"display_name", "000B82000001,201,pw-201,Front" + noXML + "Desk,,,,,GXP2140\n"},
		{"extension", "000B82000001,2" + noXML + ",pw-201,,,,,,GXP2140\n"},
		{"password", "000B82000001,201,pw" + noXML + ",,,,,,GXP2140\n"},
		{"auth_id", "000B82000001,201,pw-201,,a" + noXML + ",,,,GXP2140\n"},
		{"sip_server", "000B82000001,201,pw-201,,,pbx" + noXML + ",,,GXP2140\n"},
		{"codecs[0]", "000B82000001,201,pw-201,,,,PCM" + noXML + ",,GXP2140\n"},
		{"keys[0].label", "000B82000001,201,pw-201,,,,,blf:202:" + noXML + ",GXP2140\n"},
		{"keys[0].value", "000B82000001,201,pw-201,,,,,blf:20" + noXML + ":x,GXP2140\n"},
		{"keys", "000B82000001,201,pw-201,,,,,blf:202:x,GXP1610\n"},
	} {
		t.Run(tc.field, func(t *testing.T) {
			f := newFixture(t)
			_, err := f.importCSV(t, header+tc.row, true)
			var ie *ImportError
			if !errors.As(err, &ie) || len(ie.Rows) != 1 || ie.Rows[0].Line != 2 || ie.Rows[0].Field != tc.field {
				t.Fatalf("import: %v (%+v), want line 2 on %q", err, ie, tc.field)
			}
		})
	}
}

// settingsFieldCases are every site setting that reaches a config, each
// with a value the renderer refuses, and the field the refusal names.
var settingsFieldCases = []struct{ field, patch string }{
	{"sip_server", `{"sip_server":"pbx\uffff"}`},
	{"outbound_proxy", `{"outbound_proxy":"proxy\uffff"}`},
	{"ntp_server", `{"ntp_server":"ntp\uffff"}`},
	{"timezone", `{"timezone":"Europe/Berlin\uffff"}`},
	{"codecs[0]", `{"codecs":["PCM\uffff"]}`},
	{"phone_admin_password", `{"phone_admin_password":"pw\uffff"}`},
	{"config_server_path", `{"config_server_path":"cfg.example.test/\uffff"}`},
	{"config_protocol", `{"config_protocol":"ftp"}`},
	{"firmware_server_path", `{"firmware_server_path":"fw.example.test/\uffff"}`},
	{"firmware_protocol", `{"firmware_protocol":"ftp"}`},
	{"auto_provision.mode", `{"auto_provision":{"mode":"sometimes"}}`},
	{"auto_provision.interval_minutes", `{"auto_provision":{"mode":"every_minutes","interval_minutes":5}}`},
	{"auto_provision.hour", `{"auto_provision":{"mode":"hour_of_day","hour":24}}`},
	{"auto_provision.day_of_week", `{"auto_provision":{"mode":"day_of_week","day_of_week":7}}`},
	{"voicemail_number", `{"voicemail_number":"*9\uffff"}`},
	{"language", `{"language":"de\uffff"}`},
	{"p_values.P30", `{"p_values":{"P30":"ntp\uffff"}}`},
	{"p_values", `{"p_values":{"P\uffff":"1"}}`},
	{"model_defaults.GXP2140.p_values.P30", `{"model_defaults":{"GXP2140":{"p_values":{"P30":"ntp\uffff"}}}}`},
	{"model_defaults.GXP9999.p_values.P30", `{"model_defaults":{"GXP9999":{"p_values":{"P30":"ntp\uffff"}}}}`},
}

// The kind for settings: every site value that reaches a config passes
// the renderer's check before it is stored, and a refusal names it.
func TestSettingsRefuseWhatRendererCannotWrite(t *testing.T) {
	for _, tc := range settingsFieldCases {
		t.Run(tc.field, func(t *testing.T) {
			f := newFixture(t)
			before := f.c.Settings()
			_, err := f.c.UpdateSettings(jsonEdit(tc.patch))
			if got := fieldOf(err); got != tc.field {
				t.Fatalf("UpdateSettings(%s): %v (field %q), want a field error on %q", tc.patch, err, got, tc.field)
			}
			if after := f.c.Settings(); !equalJSON(before, after) {
				t.Errorf("settings changed by a refused edit")
			}
		})
	}
}

func equalJSON(a, b any) bool {
	x, _ := jsonMarshal(a)
	y, _ := jsonMarshal(b)
	return x == y
}

// A phone whose config cannot be rendered is never notified: pre-staged
// with keys for the GXP2140, it announces itself as a GXP1610 (no
// programmable keys). The press skips it and says why.
func TestUnrenderablePhoneNeverNotified(t *testing.T) {
	f := newFixture(t)
	m := mac(t, "000B82000001")
	a := assignment
	a.Model = "GXP2140"
	a.Keys = []appliance.Key{{Type: "blf", Value: "202"}}
	if _, err := f.c.Assign(m, a); err != nil {
		t.Fatal(err)
	}
	d := disc(m, "198.18.0.100", "c1")
	d.Model = "GXP1610"
	f.c.discover(d)
	sum, _ := f.c.ProvisionAll()
	f.c.notifWG.Wait()
	if f.n.Count() != 0 || len(sum.Skipped) != 1 {
		t.Fatalf("%d NOTIFYs, summary %+v", f.n.Count(), sum)
	}
	if r := sum.Skipped[0].Reason; !strings.Contains(r, "config cannot be rendered") || !strings.Contains(r, "keys") || !strings.Contains(r, "GXP1610") {
		t.Errorf("reason %q, want the render failure naming keys and the model", r)
	}
	if err := f.c.Provision(m); !errors.Is(err, ErrCannotRender) {
		t.Errorf("Provision: %v, want ErrCannotRender", err)
	}
	// Auto mode does not send it either.
	f.settings(t, `{"provision_mode":"auto"}`)
	d.Dialog.CallID = "c2"
	f.c.discover(d)
	f.c.notifWG.Wait()
	if f.n.Count() != 0 {
		t.Errorf("auto mode notified an unrenderable phone")
	}
}

// MayNotify, the pure rule, for an assignment stored before the door
// checked it (an old database): refused with the field.
func TestMayNotifyCannotRender(t *testing.T) {
	p := &appliance.Phone{MAC: appliance.MAC{0, 0x0b, 0x82, 0, 0, 1}, Vendor: "Grandstream", Model: "GXP2140",
		Dialog: &appliance.Dialog{CallID: "c"}}
	p.FirstSeen = p.FirstSeen.AddDate(2026, 0, 0)
	site := appliance.DefaultSettings()
	site.SIPServer = "pbx.example.net"
	good := assignment
	if err := MayNotify(p, &good, false, site); err != nil {
		t.Fatalf("good assignment: %v", err)
	}
	bad := assignment
	bad.DisplayName = "Front" + noXML + "Desk"
	err := MayNotify(p, &bad, false, site)
	if !errors.Is(err, ErrCannotRender) || !strings.Contains(err.Error(), "display_name") {
		t.Errorf("MayNotify: %v, want ErrCannotRender naming display_name", err)
	}
}

func jsonMarshal(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// The input: two phones on extension 250 through the API, export,
// import the unchanged export: "unchanged", with the shared extension as
// a warning, the same one the API gives.
func TestSharedExtensionsWarn(t *testing.T) {
	f := newFixture(t)
	a1, a2 := mac(t, "000B82000001"), mac(t, "000B82000002")
	for i, m := range []appliance.MAC{a1, a2} {
		a := assignment
		a.Extension = "250"
		a.Password = fmt.Sprintf("pw-250-%d", i)
		if _, err := f.c.Assign(m, a); err != nil {
			t.Fatalf("Assign %s on 250: %v", m, err)
		}
	}
	want1 := []string{"extension 250 is also assigned to 000B82000002: allowed, every phone on it rings"}
	if d := cmp.Diff(want1, f.c.ExtensionWarnings(a1)); d != "" {
		t.Errorf("API warnings for A (-want +got):\n%s", d)
	}
	for _, withPasswords := range []bool{true, false} {
		csv := f.export(t, ExportOptions{Passwords: withPasswords})
		for _, dry := range []bool{true, false} {
			res, err := f.importCSV(t, csv, dry)
			if err != nil {
				t.Fatalf("re-import of the export (passwords %v, dry %v): %v", withPasswords, dry, err)
			}
			if res.Unchanged != 2 || res.Created+res.Updated != 0 {
				t.Errorf("re-import: %+v, want 2 unchanged", res)
			}
			wantW := []ImportWarning{
				{Line: 2, MAC: a1, Field: "extension", Warning: want1[0]},
				{Line: 3, MAC: a2, Field: "extension", Warning: "extension 250 is also assigned to 000B82000001: allowed, every phone on it rings"},
			}
			if d := cmp.Diff(wantW, res.Warnings); d != "" {
				t.Errorf("import warnings (-want +got):\n%s", d)
			}
		}
	}
}

// The kind: the rule on shared extensions is one function; the API and
// the CSV give the same answer for every way an extension can be shared,
// and none where it is not.
func TestSharedExtensionRule(t *testing.T) {
	site := appliance.Settings{PhoneSettings: appliance.PhoneSettings{SIPServer: "pbx.example.net"}}
	m1, m2 := appliance.MAC{0, 0x0b, 0x82, 0, 0, 1}, appliance.MAC{0, 0x0b, 0x82, 0, 0, 2}
	for _, tc := range []struct {
		name   string
		a1, a2 appliance.Assignment
		want   int // warnings for m1
	}{
		{"same extension, site server", appliance.Assignment{Extension: "250"}, appliance.Assignment{Extension: "250"}, 1},
		{"same extension, one names the site's server", appliance.Assignment{Extension: "250"}, appliance.Assignment{Extension: "250", SIPServer: "PBX.example.net"}, 1},
		{"same extension, other PBX", appliance.Assignment{Extension: "250"}, appliance.Assignment{Extension: "250", SIPServer: "pbx2.example.net"}, 0},
		{"other extension", appliance.Assignment{Extension: "250"}, appliance.Assignment{Extension: "251"}, 0},
		{"account 2 shares", appliance.Assignment{Extension: "250", Accounts: []appliance.Account{{Extension: "300"}}}, appliance.Assignment{Extension: "300"}, 1},
		{"both accounts share", appliance.Assignment{Extension: "250", Accounts: []appliance.Account{{Extension: "300"}}},
			appliance.Assignment{Extension: "300", Accounts: []appliance.Account{{Extension: "250"}}}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			all := map[appliance.MAC]appliance.Assignment{m1: tc.a1, m2: tc.a2}
			got := IndexExtensions(all, site).SharedExtensions(m1, tc.a1, site)
			if len(got) != tc.want {
				t.Errorf("warnings %q, want %d", got, tc.want)
			}
			// The same assignments alone: no warning.
			if w := IndexExtensions(map[appliance.MAC]appliance.Assignment{m1: tc.a1}, site).SharedExtensions(m1, tc.a1, site); len(w) != 0 {
				t.Errorf("alone: %q", w)
			}
		})
	}
}

// The input: config_protocol https or tftp without a
// config_server_path is refused on config_protocol; with a path it is
// accepted, and clearing the path later is refused on config_protocol.
func TestConfigProtocolNeedsReachableServer(t *testing.T) {
	for _, proto := range []string{"https", "tftp"} {
		t.Run(proto, func(t *testing.T) {
			f := newFixture(t)
			_, err := f.c.UpdateSettings(jsonEdit(`{"config_protocol":"` + proto + `"}`))
			if fieldOf(err) != "config_protocol" {
				t.Fatalf("config_protocol %s alone: %v, want a field error on config_protocol", proto, err)
			}
			f.settings(t, `{"config_protocol":"`+proto+`","config_server_path":"prov.example.test/gs"}`)
			_, err = f.c.UpdateSettings(jsonEdit(`{"config_server_path":""}`))
			if fieldOf(err) != "config_protocol" {
				t.Errorf("clearing config_server_path under %s: %v, want a field error on config_protocol", proto, err)
			}
			if s := f.c.Settings(); s.ConfigServerPath != "prov.example.test/gs" {
				t.Errorf("refused edit changed config_server_path to %q", s.ConfigServerPath)
			}
			f.settings(t, `{"config_protocol":"http","config_server_path":""}`)
		})
	}
}

// Keys at the door follow the phone's model: a GXP2170 (48 on-screen
// keys, no physical ones) takes two BLFs and its config carries them;
// more keys than it has, or keys on a model not in the table, are
// refused on keys naming the model, never accepted and dropped.
func TestKeysFollowTheAnnouncedModel(t *testing.T) {
	for _, tc := range []struct {
		model string
		keys  int
		want  string // "" accepted; else a word the refusal on keys must hold
	}{
		{"GXP2170", 2, ""},
		{"GXP2170", 36, ""},
		{"GXP2170", 37, "GXP2170"},
		{"GRP2612W", 2, ""},
		{"GRP2612W", 3, "GRP2612"},
		{"GXP1610", 1, "GXP1610"},
		{"GXP9999", 1, "GXP9999"},
	} {
		t.Run(fmt.Sprintf("%s/%d", tc.model, tc.keys), func(t *testing.T) {
			f := newFixture(t)
			m := mac(t, "000B82000001")
			d := disc(m, "198.18.0.100", "c1")
			d.Model = tc.model
			f.c.discover(d)
			a := assignment
			for i := range tc.keys {
				a.Keys = append(a.Keys, appliance.Key{Type: "blf", Value: fmt.Sprintf("3%02d", i), Label: fmt.Sprintf("K%d", i)})
			}
			_, err := f.c.Assign(m, a)
			if tc.want != "" {
				if fieldOf(err) != "keys" || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("Assign: %v, want a refusal on keys naming %s", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := f.c.Preview(m)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range a.Keys {
				if !strings.Contains(string(cfg), ">"+k.Value+"<") || !strings.Contains(string(cfg), ">"+k.Label+"<") {
					t.Errorf("key %+v not in the config", k)
				}
			}
		})
	}
}

// A settings change that would leave an assigned phone with a config it
// cannot follow is refused, naming the phone: here the phone's own
// p_values fetch over TFTP from the site's config server, and the site
// then clears that server (the phone would be sent to the box, which
// serves HTTP only).
func TestSettingsChangeCheckedAgainstPhones(t *testing.T) {
	f := newFixture(t)
	f.settings(t, `{"config_server_path":"tftp.example.test"}`)
	m := mac(t, "000B82000001")
	f.c.discover(disc(m, "198.18.0.100", "c1"))
	a := assignment
	a.PValues = map[string]string{"P212": "0"}
	if _, err := f.c.Assign(m, a); err != nil {
		t.Fatal(err)
	}
	_, err := f.c.UpdateSettings(jsonEdit(`{"config_server_path":""}`))
	if fieldOf(err) != "settings" || !strings.Contains(err.Error(), "phone 000B82000001 (extension 201)") || !strings.Contains(err.Error(), "p_values.P212") {
		t.Errorf("clearing config_server_path: %v, want a refusal naming the phone and its p_values.P212", err)
	}
	// Without the phone's override the same change is fine.
	a.PValues = nil
	if _, err := f.c.Assign(m, a); err != nil {
		t.Fatal(err)
	}
	f.settings(t, `{"config_server_path":""}`)
}
