package profile

import (
	"testing"

	"github.com/pnpbox/pnpbox/appliance"
)

func TestUserAgentMAC(t *testing.T) {
	for _, tc := range []struct {
		ua   string
		want string // "" = none
	}{
		{"Grandstream Model HW GXP2140 SW 1.0.11.3 DevId 000b82f30002", "000B82F30002"},
		{"Grandstream Model HW GRP2612W SW 1.0.5.15 DevId C074AD112233", "C074AD112233"},
		{"Grandstream Model HW GXP1628 SW 1.0.4.33 devid ec74d7000001;", "EC74D7000001"},
		{"Grandstream GXP2130 1.0.7.25", ""},
		{"curl/8.5.0", ""},
		{"", ""},
		{"Grandstream Model HW GXP2140 SW 1.0.11.3 DevId", ""},
		{"Grandstream Model HW GXP2140 SW 1.0.11.3 DevId 000b82f3000", ""},
		{"Grandstream Model HW GXP2140 SW 1.0.11.3 DevId zz0b82f30002", ""},
	} {
		m, ok := UserAgentMAC(tc.ua)
		got := ""
		if ok {
			got = m.String()
		}
		if got != tc.want {
			t.Errorf("UserAgentMAC(%q) = %q, want %q", tc.ua, got, tc.want)
		}
		if ok && m == (appliance.MAC{}) {
			t.Errorf("UserAgentMAC(%q): zero MAC reported as found", tc.ua)
		}
	}
}
