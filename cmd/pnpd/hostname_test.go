package main

import (
	"net"
	"testing"
)

func TestHostnameFor(t *testing.T) {
	for _, tc := range []struct {
		mac  string
		want string
	}{
		{"dc:a6:32:01:3A:4F", "pnpbox-3a4f"},
		{"52:54:00:00:aa:01", "pnpbox-aa01"}, // the VM's, as e2e/qemu expects
		{"", "pnpbox"},
	} {
		mac, _ := net.ParseMAC(tc.mac)
		if got := hostnameFor(mac); got != tc.want {
			t.Errorf("hostnameFor(%q) = %q, want %q", tc.mac, got, tc.want)
		}
	}
}
