package netif

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
)

// ErrNoInterface means Choose was given no names and found no interface
// to pick: the caller must name one.
var ErrNoInterface = errors.New("no LAN interface found")

// Choose returns the interfaces to serve. Given names, it returns them
// without blanks and repeats, each checked to exist. Given none, it picks
// one: when the box configures the interface itself (managed: ModeDHCP or
// ModeStatic) the interface may have no address yet, so the first
// Ethernet interface (multicast-capable, not loopback, a 6-byte hardware
// address); otherwise the interface of the IPv4 default route, else the
// first up, multicast-capable, non-loopback interface with an IPv4
// address. When it finds none, the error wraps ErrNoInterface.
func Choose(names []string, managed bool) ([]string, error) {
	if len(names) > 0 {
		return checkNames(names)
	}
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	if managed {
		for _, ni := range ifs {
			if ni.Flags&net.FlagLoopback == 0 && ni.Flags&net.FlagMulticast != 0 && len(ni.HardwareAddr) == 6 {
				return []string{ni.Name}, nil
			}
		}
		return nil, fmt.Errorf("%w: no Ethernet interface", ErrNoInterface)
	}
	if n := defaultRouteInterface(readFile("/proc/net/route")); n != "" {
		return []string{n}, nil
	}
	for _, ni := range ifs {
		if ni.Flags&net.FlagUp == 0 || ni.Flags&net.FlagLoopback != 0 || ni.Flags&net.FlagMulticast == 0 {
			continue
		}
		addrs, _ := ni.Addrs()
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				if _, ok := toPrefix(n); ok {
					return []string{ni.Name}, nil
				}
			}
		}
	}
	return nil, fmt.Errorf("%w: no default route, and no interface up with multicast and IPv4", ErrNoInterface)
}

// checkNames returns names without blanks and repeats, each checked to
// exist.
func checkNames(names []string) ([]string, error) {
	var out []string
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" || slices.Contains(out, n) {
			continue
		}
		if _, err := net.InterfaceByName(n); err != nil {
			return nil, fmt.Errorf("interface %s: %w", n, err)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: only blank names given", ErrNoInterface)
	}
	return out, nil
}

func readFile(name string) string {
	b, _ := os.ReadFile(name)
	return string(b)
}

// defaultRouteInterface returns the interface of the IPv4 default route
// in routes, the text of Linux's /proc/net/route (a header line, then
// "Iface Destination Gateway …" with hex addresses; the default route's
// Destination is 00000000), or "" when there is none.
func defaultRouteInterface(routes string) string {
	lines := strings.Split(routes, "\n")
	if len(lines) < 2 {
		return ""
	}
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) > 2 && f[1] == "00000000" {
			return f[0]
		}
	}
	return ""
}
