package web

import (
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
)

// hostAllowed reports whether a request's Host header names this box: one
// of its addresses, a loopback address, localhost, its hostname, that name
// under .local, or the pnpbox[-XXXX].local name the box announces by mDNS.
// Anything else is a page reached through someone else's DNS name — the
// DNS rebinding attack (robustness reference §4), which would otherwise let
// a web site a LAN user visits talk to the box from their browser, and
// matters most for the claim form, which needs no login while claim mode
// is open. host is the header as sent (name or address, maybe a port);
// addrs are the box's addresses; names its own host names.
func hostAllowed(host string, addrs []netip.Addr, names []string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "" {
		return false
	}
	if a, err := netip.ParseAddr(host); err == nil {
		a = a.Unmap().WithZone("")
		if a.IsLoopback() {
			return true
		}
		for _, b := range addrs {
			if a == b.Unmap().WithZone("") {
				return true
			}
		}
		return false
	}
	if host == "localhost" || isPnpboxName(host) {
		return true
	}
	for _, n := range names {
		n = strings.ToLower(n)
		if n != "" && (host == n || host == n+".local") {
			return true
		}
	}
	return false
}

// isPnpboxName matches pnpbox, pnpbox.local and pnpbox-XXXX.local (the
// last four hex digits of the box's MAC, DESIGN.md "Contracts").
func isPnpboxName(h string) bool {
	h = strings.TrimSuffix(h, ".local")
	if h == "pnpbox" {
		return true
	}
	suffix, ok := strings.CutPrefix(h, "pnpbox-")
	if !ok || len(suffix) != 4 {
		return false
	}
	for _, c := range suffix {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}

// boxAddrs lists the addresses of every served interface.
func boxAddrs(b Box) []netip.Addr {
	var out []netip.Addr
	for _, i := range b.Interfaces {
		for _, p := range i.Addresses {
			out = append(out, p.Addr())
		}
	}
	return out
}

// hostNames is the box's own names, for the Host check.
func hostNames() []string {
	h, err := os.Hostname()
	if err != nil {
		return nil
	}
	return []string{h}
}

// hostCheck refuses requests whose Host does not name this box (421
// Misdirected Request: this server is not the one the name points at).
func (s *server) hostCheck(names []string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hostAllowed(r.Host, boxAddrs(s.Box()), names) {
			s.Log.Debug("refused a request for another host name (DNS rebinding?)", "host", r.Host, "ip", clientAddr(r).String())
			http.Error(w, "This box answers only to its own address or name (use http://<its address>/ or its .local name).", http.StatusMisdirectedRequest)
			return
		}
		h.ServeHTTP(w, r)
	})
}
