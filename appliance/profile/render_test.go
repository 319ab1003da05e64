package profile

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pnpbox/pnpbox/appliance"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the renderer's output")

func mustMAC(t testing.TB, s string) appliance.MAC {
	t.Helper()
	m, err := appliance.ParseMAC(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func intp(n int) *int { return &n }

// site is a site with every phone setting in use, normalized as the store
// would hand it over.
func site(t testing.TB) appliance.PhoneSettings {
	t.Helper()
	s := appliance.DefaultSettings()
	s.PhoneSettings = appliance.PhoneSettings{
		SIPServer:          "pbx.example.com",
		OutboundProxy:      "sbc.example.com:5070",
		Codecs:             []string{"PCMU", "PCMA", "G722"},
		Timezone:           "CET-1CEST-2,M3.5.0/02:00:00,M10.5.0/03:00:00",
		NTPServer:          "ntp.example.com",
		FirmwareServerPath: "fw.example.com/grandstream",
		FirmwareProtocol:   "https",
		AutoProvision:      appliance.AutoProvision{Mode: "day_of_week", Hour: intp(3), DayOfWeek: intp(0)},
		VoicemailNumber:    "*97",
		Language:           "de",
		PValues:            map[string]string{"P81": "1", "P8369": "1"},
		ModelDefaults: map[string]appliance.ModelLayer{
			"GXP2160": {PValues: map[string]string{"P8345": "1", "P8369": "2"}},
		},
	}
	s, err := s.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	return s.PhoneSettings
}

func input(t testing.TB, model string, a appliance.Assignment) Input {
	t.Helper()
	a, err := a.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	return Input{
		MAC:              mustMAC(t, "00:0B:82:12:34:56"),
		Model:            model,
		Assignment:       a,
		Site:             site(t),
		ConfigServerPath: "192.168.1.10:80/p/0123456789abcdef",
		AdminPassword:    "Adm1nForTests",
	}
}

// extraAccounts returns n extra accounts, numbered from extension 202.
func extraAccounts(n int) []appliance.Account {
	var out []appliance.Account
	for i := range n {
		ext := fmt.Sprint(202 + i)
		out = append(out, appliance.Account{Extension: ext, Password: "pw" + ext, DisplayName: "Line " + ext})
	}
	// One account with a server and auth ID of its own.
	if n > 0 {
		out[n-1].SIPServer = "other-pbx.example.com:5080"
		out[n-1].AuthID = "auth" + out[n-1].Extension
	}
	return out
}

// someKeys returns n keys cycling through a few types, on accounts 1 and 2.
func someKeys(n int) []appliance.Key {
	types := []string{"blf", "speed_dial", "call_park", "none", "voicemail", "intercom", "conference"}
	var out []appliance.Key
	for i := range n {
		typ := types[i%len(types)]
		k := appliance.Key{Type: typ, Label: fmt.Sprintf("Key %d", i+1), Account: i % 3}
		if mode, _ := lookupKeyMode(typ); mode.needsValue || typ == "call_park" {
			k.Value = fmt.Sprint(300 + i)
		}
		out = append(out, k)
	}
	return out
}

func TestRenderGolden(t *testing.T) {
	base := appliance.Assignment{
		Extension:   "201",
		Password:    "s3cret&<pw>",
		DisplayName: "Zoë \"Front Desk\"",
		Codecs:      []string{"G722", "PCMU"},
		PValues:     map[string]string{"P1362": "en"},
	}
	for _, tc := range []struct {
		file  string
		model string
		a     appliance.Assignment
	}{
		// 2 extra accounts; 12 keys: MPK1-8, then VPK4-6 and VPK7.
		{"gxp2130", "GXP2130", with(base, extraAccounts(2), someKeys(12), "")},
		// 3 extra accounts; 3 keys: VPK5, VPK6, VPK7.
		{"gxp2140", "gxp2140", with(base, extraAccounts(3), someKeys(3), "")},
		// 5 extra accounts; 26 keys: MPK1-24, VPK7-8. The model comes
		// from the assignment: the phone has not said yet.
		{"gxp2160", "", with(base, extraAccounts(5), someKeys(26), "GXP2160")},
		// One golden file per family beyond the GXP21xx above.
		// GXP16xx: 1 extra account; 8 keys on MPK1-8, no on-screen keys.
		{"gxp1628", "GXP1628", with(base, extraAccounts(1), someKeys(8), "")},
		// GXP17xx: 3 extra accounts; 3 keys on VPK9-11 (8 fixed line
		// keys, VPK7-8 among them in the 23800 block).
		{"gxp1780", "GXP1780", with(base, extraAccounts(3), someKeys(3), "")},
		// GXP2170: 5 extra accounts; 2 keys on VPK13-14, no MPKs.
		{"gxp2170", "GXP2170", with(base, extraAccounts(5), someKeys(2), "")},
		// GRP26xx: the phone says GRP2614W; 3 extra accounts; 26 keys on
		// MPK1-24, then VPK5-6.
		{"grp2614", "GRP2614W", with(base, extraAccounts(3), someKeys(26), "")},
		// GRP2615: account 5 in the 700 block.
		{"grp2615", "GRP2615", with(base, extraAccounts(4), someKeys(1), "")},
		// Model unknown: account 1, codecs and site settings only, and
		// nothing the assignment does not use is touched.
		{"unknown", "", with(base, nil, nil, "")},
	} {
		t.Run(tc.file, func(t *testing.T) {
			in := input(t, tc.model, tc.a)
			got, err := Render(in)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tc.file+".golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("Render differs from %s (-want +got):\n%s", path, diff)
			}
			// A phone that downloads again must get the same bytes, or it
			// flashes again and reboots in a loop.
			for range 5 {
				again, err := Render(in)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(again, got) {
					t.Fatal("a second Render gave different bytes")
				}
			}
		})
	}
}

func with(a appliance.Assignment, accounts []appliance.Account, keys []appliance.Key, model string) appliance.Assignment {
	a.Accounts, a.Keys, a.Model = accounts, keys, model
	return a
}

// parse reads a rendered config back with encoding/xml: the MAC and the
// P-values by name. A P-value that occurs twice is an error.
func parse(t testing.TB, b []byte) (mac string, values map[string]string) {
	t.Helper()
	var doc struct {
		XMLName xml.Name `xml:"gs_provision"`
		Version string   `xml:"version,attr"`
		MAC     string   `xml:"mac"`
		Config  struct {
			Version string `xml:"version,attr"`
			Values  []struct {
				XMLName xml.Name
				Value   string `xml:",chardata"`
			} `xml:",any"`
		} `xml:"config"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("output is not well-formed XML: %v\n%s", err, b)
	}
	if doc.Version != "1" || doc.Config.Version != "1" {
		t.Fatalf("versions: gs_provision %q, config %q; want 1 and 1", doc.Version, doc.Config.Version)
	}
	values = map[string]string{}
	for _, v := range doc.Config.Values {
		if _, dup := values[v.XMLName.Local]; dup {
			t.Fatalf("%s occurs twice", v.XMLName.Local)
		}
		values[v.XMLName.Local] = v.Value
	}
	return doc.MAC, values
}

// render renders in and returns its P-values, failing the test on error.
func render(t testing.TB, in Input) map[string]string {
	t.Helper()
	b, err := Render(in)
	if err != nil {
		t.Fatal(err)
	}
	_, values := parse(t, b)
	return values
}

func TestRenderHeader(t *testing.T) {
	b, err := Render(input(t, "GXP2140", appliance.Assignment{Extension: "201"}))
	if err != nil {
		t.Fatal(err)
	}
	want := "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<gs_provision version=\"1\">\n  <mac>000b82123456</mac>\n  <config version=\"1\">\n"
	if !bytes.HasPrefix(b, []byte(want)) {
		t.Errorf("output starts\n%s\nwant\n%s", b[:min(len(want), len(b))], want)
	}
	if !bytes.HasSuffix(b, []byte("  </config>\n</gs_provision>\n")) {
		t.Errorf("output ends %q", b[max(0, len(b)-40):])
	}
}

// TestRenderOrder checks that P-values come out in numeric (not string)
// order whatever order the maps hold them in.
func TestRenderOrder(t *testing.T) {
	in := input(t, "GXP2160", appliance.Assignment{Extension: "201",
		PValues: map[string]string{"P9": "a", "P10": "b", "P100": "c", "P23999": "d", "P1000": "e"}})
	b, err := Render(in)
	if err != nil {
		t.Fatal(err)
	}
	last := -1
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		var p int
		if _, err := fmt.Sscanf(line, "<P%d>", &p); err != nil {
			continue
		}
		if p <= last {
			t.Fatalf("P%d after P%d", p, last)
		}
		last = p
	}
}

func TestRenderAccountOne(t *testing.T) {
	s := site(t)
	for _, tc := range []struct {
		name string
		a    appliance.Assignment
		site func(*appliance.PhoneSettings)
		want map[string]string
	}{
		{
			name: "defaults from the site",
			a:    appliance.Assignment{Extension: "201", Password: "pw"},
			want: map[string]string{
				"P271": "1", "P47": "pbx.example.com", "P48": "sbc.example.com:5070",
				"P35": "201", "P36": "201", "P34": "pw", "P3": "", "P270": "201", "P33": "*97",
				// PCMU, PCMA, G722, then G722 repeated.
				"P57": "0", "P58": "8", "P59": "9", "P60": "9", "P61": "9", "P62": "9", "P46": "9", "P98": "9",
				"P237": "192.168.1.10:80/p/0123456789abcdef", "P212": "1", "P2": "Adm1nForTests",
			},
		},
		{
			name: "the assignment's own values",
			a: appliance.Assignment{Extension: "201", AuthID: "a201", DisplayName: "Ann", SIPServer: "10.1.1.1:5061",
				Codecs: []string{"OPUS", "G729", "G726-32", "G723", "iLBC", "PCMA", "PCMU", "G722"}},
			want: map[string]string{
				"P47": "10.1.1.1:5061", "P35": "201", "P36": "a201", "P3": "Ann", "P270": "Ann",
				"P57": "123", "P58": "18", "P59": "2", "P60": "4", "P61": "98", "P62": "8", "P46": "0", "P98": "9",
			},
		},
		{
			name: "site overrides the config server and protocol",
			a:    appliance.Assignment{Extension: "201"},
			site: func(s *appliance.PhoneSettings) {
				s.ConfigServerPath = "prov.example.com/gs"
				s.ConfigProtocol = "https"
			},
			want: map[string]string{"P237": "prov.example.com/gs", "P212": "2"},
		},
		{
			name: "tftp",
			a:    appliance.Assignment{Extension: "201"},
			site: func(s *appliance.PhoneSettings) { s.ConfigProtocol = "tftp"; s.FirmwareProtocol = "http" },
			want: map[string]string{"P212": "0", "P6767": "1"},
		},
		{
			name: "site globals",
			a:    appliance.Assignment{Extension: "201"},
			want: map[string]string{
				"P30": "ntp.example.com", "P64": "CET-1CEST-2,M3.5.0/02:00:00,M10.5.0/03:00:00", "P1362": "de",
				"P192": "fw.example.com/grandstream", "P6767": "2", "P194": "3", "P285": "3", "P286": "0",
			},
		},
		{
			name: "auto provision every N minutes",
			a:    appliance.Assignment{Extension: "201"},
			site: func(s *appliance.PhoneSettings) {
				s.AutoProvision = appliance.AutoProvision{Mode: "every_minutes", IntervalMinutes: 1440}
			},
			want: map[string]string{"P194": "1", "P193": "1440"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := input(t, "GXP2140", tc.a)
			in.Site = s
			if tc.site != nil {
				tc.site(&in.Site)
			}
			got := render(t, in)
			for p, want := range tc.want {
				if got[p] != want {
					t.Errorf("%s = %q, want %q", p, got[p], want)
				}
			}
		})
	}
}

// TestRenderOmits checks what is left out when nothing sets it: the phone
// keeps its own value.
func TestRenderOmits(t *testing.T) {
	in := input(t, "GXP2140", appliance.Assignment{Extension: "201"})
	in.Site = appliance.DefaultSettings().PhoneSettings
	in.AdminPassword = ""
	got := render(t, in)
	for _, p := range []string{"P2", "P30", "P64", "P1362", "P192", "P6767", "P194", "P193", "P285", "P286", "P47", "P57", "P98"} {
		if v, ok := got[p]; ok {
			t.Errorf("%s = %q, want it left out", p, v)
		}
	}
}

func TestRenderLayers(t *testing.T) {
	s := site(t)
	s.PValues = map[string]string{"P30": "site-raw", "P1": "site", "P3": "site"}
	s.ModelDefaults = map[string]appliance.ModelLayer{
		"GXP2160": {PValues: map[string]string{"P1": "model", "P2": "model", "P353": "0", "P356": "*8"}},
		"GXP2140": {PValues: map[string]string{"P1": "wrong model"}},
	}
	a := appliance.Assignment{Extension: "201", DisplayName: "Phone", PValues: map[string]string{"P2": "phone"}}
	in := input(t, "GXP2160", a)
	in.Site = s
	got := render(t, in)
	for p, want := range map[string]string{
		"P30":  "site-raw", // site p_values beat the site's ntp_server
		"P1":   "model",    // model p_values beat site p_values
		"P2":   "phone",    // assignment p_values beat everything, the admin password too
		"P3":   "Phone",    // the assignment's display name beats site p_values
		"P353": "0",        // model defaults beat the unused-key defaults: MPK8 speed dial
		"P356": "*8",
	} {
		if got[p] != want {
			t.Errorf("%s = %q, want %q", p, got[p], want)
		}
	}

	// The model layer is picked by the model name, in any case.
	in.Model = "gxp2140"
	if got := render(t, in); got["P1"] != "wrong model" {
		t.Errorf("GXP2140: P1 = %q, want the GXP2140 layer's", got["P1"])
	}
}

// TestRenderClears checks that what the assignment no longer uses is
// switched off on a phone of a known model, so removing an account or a key
// in the box removes it from the phone.
func TestRenderClears(t *testing.T) {
	got := render(t, input(t, "GXP2160", appliance.Assignment{Extension: "201",
		Accounts: extraAccounts(1), Keys: []appliance.Key{{Type: "blf", Value: "202"}}}))
	want := map[string]string{
		"P401": "1", "P501": "0", "P601": "0", "P1701": "0", "P1801": "0",
		"P323": "1",                                       // MPK1 blf
		"P324": "-1", "P304": "0", "P305": "", "P306": "", // MPK2 cleared
		"P1460": "-1", "P1461": "0", "P1462": "", "P1463": "", // MPK24 cleared
		"P23800": "-1", "P23868": "-1", "P23869": "0", "P23871": "", // VPK7, VPK24 cleared
	}
	for p, w := range want {
		if got[p] != w {
			t.Errorf("%s = %q, want %q", p, got[p], w)
		}
	}

	// Unknown model: only what the assignment says.
	got = render(t, input(t, "", appliance.Assignment{Extension: "201"}))
	for _, p := range []string{"P401", "P501", "P324", "P1369", "P23800"} {
		if v, ok := got[p]; ok {
			t.Errorf("unknown model: %s = %q, want it left out", p, v)
		}
	}
}

func TestRenderErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    func(*Input)
		field string
	}{
		{"no MAC", func(in *Input) { in.MAC = appliance.MAC{} }, "mac"},
		{"bad codec", func(in *Input) { in.Assignment.Codecs = []string{"PCMU", "GSM"} }, "codecs[1]"},
		{"not normalized", func(in *Input) { in.Assignment.Extension = "2 01" }, "extension"},
		{"site p_values", func(in *Input) { in.Site.PValues = map[string]string{"P030": "x"} }, "settings.p_values"},
		{"model p_values", func(in *Input) {
			in.Site.ModelDefaults = map[string]appliance.ModelLayer{"GXP2140": {PValues: map[string]string{"Q1": "x"}}}
		}, "settings.model_defaults.GXP2140.p_values"},
		{"timezone", func(in *Input) { in.Site.Timezone = "CET\x01" }, "settings.timezone"},
		{"display name", func(in *Input) { in.Assignment.DisplayName = "Ann\uFFFE" }, "display_name"},
		{"config protocol", func(in *Input) { in.Site.ConfigProtocol = "gopher" }, "settings.config_protocol"},
		{"admin password", func(in *Input) { in.AdminPassword = "tab\there" }, "admin_password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := input(t, "GXP2140", appliance.Assignment{Extension: "201"})
			tc.in(&in)
			for name, render := range map[string]func(Input) ([]byte, error){"Render": Render, "RenderLegacy": RenderLegacy} {
				_, err := render(in)
				checkFieldError(t, name, err, tc.field)
			}
		})
	}
}

func checkFieldError(t *testing.T, what string, err error, field string) {
	t.Helper()
	fe, ok := err.(*appliance.FieldError)
	if !ok {
		t.Fatalf("%s: error = %v, want a *appliance.FieldError", what, err)
	}
	if fe.Field != field {
		t.Errorf("%s: field = %q (%v), want %q", what, fe.Field, err, field)
	}
}

func TestMask(t *testing.T) {
	in := input(t, "GXP2160", appliance.Assignment{
		Extension: "201", Password: "pw1&x", Accounts: extraAccounts(5),
		PValues: map[string]string{"P196": "user", "P1361": "cfgpw", "P6769": "fwpw", "P1359": "filepw", "P1360": "cfguser"},
	})
	in.Assignment.Accounts[0].Password = "" // an empty secret stays visibly empty
	b, err := Render(in)
	if err != nil {
		t.Fatal(err)
	}
	_, got := parse(t, Mask(b))
	_, orig := parse(t, b)
	want := map[string]string{}
	for p, v := range orig {
		want[p] = v
	}
	for _, p := range []string{"P34", "P506", "P606", "P1706", "P1806", "P2", "P196", "P1361", "P6769", "P1359"} {
		want[p] = "********"
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Mask (-want +got):\n%s", diff)
	}
	if orig["P406"] != "" {
		t.Fatalf("P406 = %q, the test wants it empty", orig["P406"])
	}
	if bytes.Contains(Mask(b), []byte("pw1")) {
		t.Error("masked output still contains the password")
	}
}

// TestRenderPnP is fault 6: every config the box renders switches the
// phone's own Plug-and-Play off (P1414=0), on every model and for a model
// not in the table too, unless settings.keep_pnp keeps it on; a raw
// p_values override still wins, as for every other P-value.
func TestRenderPnP(t *testing.T) {
	names := []string{"", "DP750"}
	for _, m := range models {
		names = append(names, m.Name)
	}
	for _, model := range names {
		in := input(t, model, appliance.Assignment{Extension: "201"})
		if got := render(t, in)["P1414"]; got != "0" {
			t.Errorf("%q: P1414 = %q, want 0", model, got)
		}
		in.Site.KeepPnP = true
		if got := render(t, in)["P1414"]; got != "1" {
			t.Errorf("%q keep_pnp: P1414 = %q, want 1", model, got)
		}
		b, err := RenderLegacy(in)
		if err != nil {
			t.Fatal(err)
		}
		if _, vals, err := decodeLegacy(b); err != nil || vals["P1414"] != "1" {
			t.Errorf("%q legacy: P1414 = %q (%v), want 1", model, vals["P1414"], err)
		}
	}
	in := input(t, "GXP2140", appliance.Assignment{Extension: "201", PValues: map[string]string{"P1414": "1"}})
	if got := render(t, in)["P1414"]; got != "1" {
		t.Errorf("assignment p_values P1414=1: P1414 = %q", got)
	}

	// The setting's JSON name is keep_pnp, and it survives a settings
	// round trip through JSON.
	var s appliance.Settings
	if err := json.Unmarshal([]byte(`{"keep_pnp": true}`), &s); err != nil || !s.KeepPnP {
		t.Errorf(`{"keep_pnp": true} decodes to KeepPnP=%v (%v)`, s.KeepPnP, err)
	}
}
