package appliance

import (
	"errors"
	"strings"
	"testing"
)

// A SIP server as installers copy it from a PBX: the input
// ("sip:pbx.example.test") and the kind around it, through every field
// that holds a server.
func TestSIPServerWithScheme(t *testing.T) {
	for _, tc := range []struct {
		in, want string // want "" with errWant: refused
		errWant  string
	}{
		{"sip:pbx.example.test", "pbx.example.test", ""},
		{"SIP:pbx.example.test:5070", "pbx.example.test:5070", ""},
		{" sip:198.18.0.5 ", "198.18.0.5", ""},
		{"pbx.example.test", "pbx.example.test", ""},
		{"pbx:5060", "pbx:5060", ""},
		{"[2001:db8::1]:5060", "[2001:db8::1]:5060", ""},
		{"2001:db8::1", "2001:db8::1", ""},
		{"sips:pbx.example.test", "", `write the host without "sips:"`},
		{"udp://pbx.example.test", "", `write the host without "udp:"`},
		{"pbx.example.test:99999", "", "is not 1-65535"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			a, err := Assignment{Extension: "201", SIPServer: tc.in, Accounts: []Account{{Extension: "202", SIPServer: tc.in}}}.Normalize()
			s, serr := Settings{PhoneSettings: PhoneSettings{SIPServer: tc.in, OutboundProxy: tc.in}}.Normalize()
			if tc.errWant != "" {
				for _, e := range []error{err, serr} {
					var fe *FieldError
					if !errors.As(e, &fe) || !strings.Contains(fe.Msg, tc.errWant) {
						t.Errorf("%q: %v, want a field error saying %q", tc.in, e, tc.errWant)
					}
				}
				return
			}
			if err != nil || serr != nil {
				t.Fatalf("%q: %v / %v", tc.in, err, serr)
			}
			for _, got := range []string{a.SIPServer, a.Accounts[0].SIPServer, s.SIPServer, s.OutboundProxy} {
				if got != tc.want {
					t.Errorf("%q became %q, want %q", tc.in, got, tc.want)
				}
			}
		})
	}
}
