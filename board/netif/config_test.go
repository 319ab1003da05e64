package netif

import (
	"net/netip"
	"regexp"
	"testing"
	"time"
)

// New refuses a Config that cannot work, in the terms of this package
// (modes and Config fields), never in a caller's flag names.
func TestNewRefusesBadConfig(t *testing.T) {
	addr := netip.MustParsePrefix("192.0.2.10/24")
	for _, tc := range []struct {
		name string
		cfg  Config
		want string // regexp the error must match
	}{
		{"no interface", Config{}, `^no interface$`},
		{"unknown mode", Config{Iface: "eth0", Mode: "wifi"}, `^mode "wifi": want none, dhcp or static$`},
		{"static without an address", Config{Iface: "eth0", Mode: ModeStatic}, `^mode static needs an address \(Config.Addr\)$`},
		{"static VLAN without its address", Config{Iface: "eth0", Mode: ModeStatic, Addr: addr, VLAN: 20}, `^mode static with a VLAN needs a VLAN address \(Config.VLANAddr\)$`},
		{"VLAN address without a VLAN", Config{Iface: "eth0", Mode: ModeDHCP, VLANAddr: addr}, `^a VLAN address \(Config.VLANAddr\) without a VLAN \(Config.VLAN\)$`},
		{"prefix too long", Config{Iface: "eth0", Mode: ModeStatic, Addr: netip.MustParsePrefix("192.0.2.10/31")}, `^address 192.0.2.10/31: want an IPv4 address with a prefix length of 8 to 30$`},
		{"gateway off the subnet", Config{Iface: "eth0", Mode: ModeStatic, Addr: addr, Gateway: netip.MustParseAddr("198.51.100.1")}, `^gateway 198.51.100.1 is not on the subnet of the address 192.0.2.10/24$`},
		{"VLAN out of range", Config{Iface: "eth0", Mode: ModeNone, VLAN: 4095}, `^VLAN 4095: want 1 to 4094$`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if err == nil || !regexp.MustCompile(tc.want).MatchString(err.Error()) {
				t.Errorf("New: %v, want an error matching %s", err, tc.want)
			}
		})
	}
	if _, err := New(Config{Iface: "eth0", Mode: ModeStatic, Addr: addr, DHCPTimeout: time.Second}); err != nil {
		t.Errorf("New with a good static Config: %v", err)
	}
}
