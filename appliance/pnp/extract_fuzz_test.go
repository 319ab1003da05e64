package pnp

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseEvent: the Event header parser (vendor, model, firmware come
// from it) never panics, and a header it reads as ua-profile is one that
// starts with that package name. (An unbalanced quote may leave a ';' in
// the package: it then matches no package, which is the safe answer.)
func FuzzParseEvent(f *testing.F) {
	f.Add(`ua-profile;profile-type="device";vendor="Grandstream";model="GXP2140";version="1.0.11.3"`)
	f.Add(`ua-profile ; vendor = "a;b" ; model=x`)
	f.Add(`ua-profile;vendor="unterminated`)
	f.Add(";;;=;\"")
	f.Add("")
	f.Fuzz(func(t *testing.T, v string) {
		pkg, _ := parseEvent(v)
		if pkg == "ua-profile" && !strings.HasPrefix(strings.ToLower(strings.TrimSpace(v)), "ua-profile") {
			t.Fatalf("%q read as ua-profile", v)
		}
	})
}

// FuzzMACFromUser: the Request-URI user part (MAC%3A000B82…) parser never
// panics and accepts only a unicast-or-multicast 12-hex-digit MAC that
// prints back as 12 upper-case hex digits.
func FuzzMACFromUser(f *testing.F) {
	for _, s := range []string{"MAC%3A000B82123456", "MAC:000b82123456", "mac=000B82123456", "MAC%3A000B8212345", "MAC%3A000B821234567",
		"MAC%3A00-0B-82-12-34-56", "MAC%3A%30%30%30B82123456", "MAC%", "MAC%3A000B82\x00123456", "MACMACMACMAC"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, u string) {
		m, err := macFromUser(u)
		if err != nil {
			return
		}
		s := m.String()
		if len(s) != 12 || strings.ToUpper(s) != s || !utf8.ValidString(s) {
			t.Fatalf("%q → MAC %q", u, s)
		}
	})
}
