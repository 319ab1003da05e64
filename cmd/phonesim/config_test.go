package main

import (
	"strings"
	"testing"

	"github.com/pnpbox/pnpbox/appliance"
)

func TestConfigChecks(t *testing.T) {
	mac, err := appliance.ParseMAC("000B82000001")
	if err != nil {
		t.Fatal(err)
	}
	good := configFor("000b82000001", "10.0.0.1:8080/prov")
	for _, tc := range []struct {
		name    string
		xml     string
		wantErr string // "" = usable, with wantURL
		wantURL string
	}{
		{name: "good", xml: good, wantURL: "http://10.0.0.1:8080/prov/cfg000b82000001.xml"},
		{name: "no mac element", xml: strings.Replace(good, " <mac>000b82000001</mac>\n", "", 1),
			wantURL: "http://10.0.0.1:8080/prov/cfg000b82000001.xml"},
		{name: "P237 with trailing slash", xml: strings.Replace(good, "/prov<", "/prov/<", 1),
			wantURL: "http://10.0.0.1:8080/prov/cfg000b82000001.xml"},
		{name: "P237 host only", xml: strings.Replace(good, "10.0.0.1:8080/prov", "box.lan", 1),
			wantURL: "http://box.lan/cfg000b82000001.xml"},
		{name: "HTTPS", xml: strings.Replace(good, "<P212>1<", "<P212>2<", 1),
			wantURL: "https://10.0.0.1:8080/prov/cfg000b82000001.xml"},
		{name: "not XML", xml: "P271=1\nP47=pbx\n", wantErr: "root element"},
		{name: "truncated", xml: good[:len(good)/2], wantErr: "not well-formed"},
		{name: "mismatched tags", xml: strings.Replace(good, "</P47>", "</P48>", 1), wantErr: "not well-formed"},
		{name: "two roots", xml: good + "<gs_provision/>", wantErr: "after the root"},
		{name: "empty", xml: "", wantErr: "no root element"},
		{name: "other root", xml: "<config><P271>1</P271></config>", wantErr: "root element is <config>"},
		{name: "someone else's mac", xml: strings.Replace(good, "000b82000001</mac>", "000b82000002</mac>", 1),
			wantErr: `<mac> is "000b82000002", want "000b82000001"`},
		{name: "upper-case mac", xml: strings.Replace(good, "000b82000001</mac>", "000B82000001</mac>", 1),
			wantErr: "<mac> is"},
		{name: "no account settings", xml: strings.Replace(strings.Replace(good, "<P47>pbx.example.com</P47>", "", 1), "<P34>s3cret</P34>", "", 1),
			wantErr: "config lacks P34, P47"},
		{name: "P-values outside config", xml: `<gs_provision><P271>1</P271><P35>1</P35><P34/><P47>x</P47><P237>x</P237></gs_provision>`,
			wantErr: "config lacks P271, P35, P34, P47, P237"},
		{name: "v2 aliases only", xml: `<gs_provision version="1"><config version="2"><item name="account.1.enable">Yes</item></config></gs_provision>`,
			wantErr: "config lacks"},
		{name: "empty P237", xml: strings.Replace(good, "10.0.0.1:8080/prov", "", 1), wantErr: "P237 (config server path) is empty"},
		{name: "P237 with a scheme", xml: strings.Replace(good, "10.0.0.1:8080/prov", "http://10.0.0.1/prov", 1),
			wantErr: "has a scheme"},
		{name: "no P212", xml: strings.Replace(good, "<P212>1</P212>", "", 1), wantErr: "config lacks P212"},
		{name: "TFTP", xml: strings.Replace(good, "<P212>1<", "<P212>0<", 1), wantErr: "does not simulate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseConfig([]byte(tc.xml))
			if err == nil {
				err = c.check(mac)
			}
			var u string
			if err == nil {
				u, err = c.serverURL(mac)
			}
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("error %v, want none", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			case u != tc.wantURL:
				t.Errorf("config URL %q, want %q", u, tc.wantURL)
			}
		})
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(configFor("000b82000001", "10.0.0.1/prov")))
	f.Add([]byte("<gs_provision><config><P237>a/b</P237><P212>1</P212></config></gs_provision>"))
	mac, _ := appliance.ParseMAC("000B82000001")
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parseConfig(b)
		if err != nil {
			return
		}
		if c.check(mac) == nil {
			_, _ = c.serverURL(mac)
		}
	})
}

// configFor is a config as pnpbox renders it, with P237 set to p237.
func configFor(mac, p237 string) string {
	return `<?xml version="1.0" encoding="UTF-8" ?>
<gs_provision version="1">
 <mac>` + mac + `</mac>
 <config version="1">
  <P271>1</P271>
  <P270>Reception</P270>
  <P47>pbx.example.com</P47>
  <P35>201</P35>
  <P36>201</P36>
  <P34>s3cret</P34>
  <P212>1</P212>
  <P237>` + p237 + `</P237>
 </config>
</gs_provision>
`
}
