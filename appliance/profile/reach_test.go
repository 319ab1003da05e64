package profile

import (
	"errors"
	"fmt"
	"regexp"
	"testing"

	"github.com/pnpbox/pnpbox/appliance"
)

// The kind of fault 4: no combination of settings (and raw P-values in
// any layer) passes Check with a config whose P212/P237/P192 the phone
// cannot follow. Every combination is rendered; an accepted one must be
// reachable, and a refused one must name a field.
func TestCheckReachCombinations(t *testing.T) {
	const box = "198.18.0.1:80/p/0123"
	protocols := []string{"", "http", "https", "tftp"}
	paths := []string{"", "prov.example.test/gs"}
	raws := []map[string]string{nil, {"P212": "2"}, {"P212": "1"}, {"P212": "7"}, {"P237": "other.example.test/x"}, {"P237": "http://other.example.test/x"}, {"P192": "https://fw.example.test"}}
	fwPaths := []string{"", "fw.example.test/gs"}
	for _, boxProtos := range [][]string{nil, {"http", "https"}} {
		for _, proto := range protocols {
			for _, path := range paths {
				for ri, raw := range raws {
					for _, fw := range fwPaths {
						for _, layer := range []string{"site", "model", "assignment"} {
							name := fmt.Sprintf("box=%v/proto=%q/path=%q/raw%d/fw=%q/%s", boxProtos, proto, path, ri, fw, layer)
							in := Input{MAC: appliance.MAC{0, 0x0b, 0x82, 1, 2, 3}, Model: "GXP2140", ConfigServerPath: box, BoxProtocols: boxProtos,
								Assignment: appliance.Assignment{Extension: "201", Password: "pw"},
								Site:       appliance.PhoneSettings{ConfigProtocol: proto, ConfigServerPath: path, FirmwareServerPath: fw}}
							switch layer {
							case "site":
								in.Site.PValues = raw
							case "model":
								in.Site.ModelDefaults = map[string]appliance.ModelLayer{"GXP2140": {PValues: raw}}
							case "assignment":
								in.Assignment.PValues = raw
							}
							err := Check(in)
							if err != nil {
								var fe *appliance.FieldError
								if !errors.As(err, &fe) || fe.Field == "" {
									t.Errorf("%s: %v is not a field error", name, err)
								}
								continue
							}
							c, _ := build(in)
							if !reachable(c, box, boxProtos) {
								t.Errorf("%s: accepted, but P212=%q P237=%q P192=%q cannot be followed", name, c[212].value, c[237].value, c[192].value)
							}
						}
					}
				}
			}
		}
	}
}

var schemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://`)

// reachable is the test's own statement of the rule, independent of reach.
func reachable(c config, box string, boxProtos []string) bool {
	for _, p := range []int{237, 192} {
		if schemeRE.MatchString(c[p].value) {
			return false
		}
	}
	codes := map[string]string{"0": "tftp", "1": "http", "2": "https"}
	proto, ok := codes[c[212].value]
	if !ok {
		return false
	}
	if c[237].value != box {
		return true
	}
	if len(boxProtos) == 0 {
		boxProtos = []string{"http"}
	}
	for _, b := range boxProtos {
		if b == proto {
			return true
		}
	}
	return false
}

// The input: config_protocol https (or tftp) without a config
// server path is refused on config_protocol; with one it is fine.
func TestCheckSiteConfigProtocol(t *testing.T) {
	for _, tc := range []struct {
		site  appliance.PhoneSettings
		field string
	}{
		{appliance.PhoneSettings{ConfigProtocol: "https"}, "config_protocol"},
		{appliance.PhoneSettings{ConfigProtocol: "tftp"}, "config_protocol"},
		{appliance.PhoneSettings{ConfigProtocol: "http"}, ""},
		{appliance.PhoneSettings{}, ""},
		{appliance.PhoneSettings{ConfigProtocol: "https", ConfigServerPath: "prov.example.test/gs"}, ""},
		{appliance.PhoneSettings{ConfigProtocol: "tftp", ConfigServerPath: "198.18.0.9"}, ""},
		{appliance.PhoneSettings{PValues: map[string]string{"P212": "2"}}, "p_values.P212"},
		{appliance.PhoneSettings{ModelDefaults: map[string]appliance.ModelLayer{"GXP2140": {PValues: map[string]string{"P212": "0"}}}}, "model_defaults.GXP2140.p_values.P212"},
		{appliance.PhoneSettings{PValues: map[string]string{"P192": "http://fw.example.test"}}, "p_values.P192"},
	} {
		err := CheckSite(tc.site, nil)
		got := ""
		var fe *appliance.FieldError
		if errors.As(err, &fe) {
			got = fe.Field
		}
		if got != tc.field {
			t.Errorf("CheckSite(%+v) = %v, want a field error on %q", tc.site, err, tc.field)
		}
	}
	// Once the box serves HTTPS there, https is fine without a path.
	if err := CheckSite(appliance.PhoneSettings{ConfigProtocol: "https"}, []string{"http", "https"}); err != nil {
		t.Errorf("https with the box serving it: %v", err)
	}
}
