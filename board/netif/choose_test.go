package netif

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDefaultRouteInterface(t *testing.T) {
	const header = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
	for _, tc := range []struct {
		name, routes, want string
	}{
		{"default route", header +
			"eth0\t0000A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n" +
			"eth0\t00000000\t0100A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n", "eth0"},
		{"first default route wins", header +
			"wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0\n" +
			"eth0\t00000000\t0100A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n", "wlan0"},
		{"no default route", header + "eth0\t0000A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n", ""},
		{"header only", header, ""},
		{"not readable (no /proc)", "", ""},
		{"a header that looks like a route is skipped", "x 00000000 y\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := defaultRouteInterface(tc.routes); got != tc.want {
				t.Errorf("defaultRouteInterface = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestChooseNamed(t *testing.T) {
	got, err := Choose([]string{" lo", "lo", ""}, false)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"lo"}, got); diff != "" {
		t.Errorf("Choose (-want +got):\n%s", diff)
	}
	if _, err := Choose([]string{"lo", "nosuch0"}, false); err == nil || !strings.Contains(err.Error(), "interface nosuch0") || errors.Is(err, ErrNoInterface) {
		t.Errorf("Choose with a missing interface: %v, want an error naming it", err)
	}
	if _, err := Choose([]string{" ", ""}, false); !errors.Is(err, ErrNoInterface) {
		t.Errorf("Choose with blank names: %v, want ErrNoInterface", err)
	}
}
