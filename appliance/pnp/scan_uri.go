// URIs, name-addrs and parameters for the scanner (scan.go), read as
// sipgo reads them, in the shapes the scanner vouches for.

package pnp

import "strings"

// param is one ;key=value, sub-slices of the datagram.
type param struct{ k, v string }

// paramList holds parameters the way sip.HeaderParams.Add keeps them: a
// key given again overwrites the first one's value in place.
type paramList struct {
	n  int
	kv [maxScanParams]param
}

func (p *paramList) add(k, v string) bool {
	for i := range p.n {
		if p.kv[i].k == k {
			p.kv[i].v = v
			return true
		}
	}
	if p.n == len(p.kv) {
		return false
	}
	p.kv[p.n] = param{k, v}
	p.n++
	return true
}

func (p *paramList) get(k string) (string, bool) {
	for i := range p.n {
		if p.kv[i].k == k {
			return p.kv[i].v, true
		}
	}
	return "", false
}

// sipURI is a sip: or sips: URI (RFC 3261 §19.1.1) as sipgo reads it.
type sipURI struct {
	scheme   string // "sip" or "sips"
	userinfo string // user[:password] as written
	user     string // userinfo up to its last colon
	password string
	host     string // an IPv6 reference keeps its brackets
	port     int    // 0 when absent
	params   paramList
}

// nameAddr is a From, To or Contact value (RFC 3261 §20.10, §20.20,
// §20.39): an optional display name, a URI in angle brackets, parameters.
type nameAddr struct {
	display string
	uri     sipURI
	params  paramList
}

// cutPort reads 1 to 5 digits ending s or followed by ';' or '?'.
func cutPort(s string) (port int, rest string, ok bool) {
	i := 0
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		port = port*10 + int(s[i]-'0')
		i++
	}
	if i == 0 || i > 5 || (i < len(s) && s[i] != ';' && s[i] != '?') {
		return 0, "", false
	}
	return port, s[i:], true
}

// isParamByte: the characters a parameter's key or value may have here:
// printable ASCII but for separators, quotes, brackets and '='. Whatever
// else sipgo reads in its own ways (quoted values, "a=b=c").
func isParamByte(c byte) bool {
	switch c {
	case ';', ',', '"', '=', '?', '<', '>', '[', ']', '\\':
		return false
	}
	return c > ' ' && c < 0x7f
}

// parseParams reads "k[=v](;k[=v])*" into p, keys non-empty.
func parseParams(s string, p *paramList) bool {
	for {
		seg, rest, more := strings.Cut(s, ";")
		k, v, _ := strings.Cut(seg, "=")
		if k == "" {
			return false
		}
		for i := 0; i < len(seg); i++ {
			if seg[i] != '=' && !isParamByte(seg[i]) || seg[i] == '=' && i != len(k) {
				return false
			}
		}
		if !p.add(k, v) {
			return false
		}
		if !more {
			return true
		}
		s = rest
	}
}

// parseNameAddr reads `["display name"] <URI>[;params]` or
// `display name <URI>[;params]`. A URI outside brackets gives up.
func parseNameAddr(s string, a *nameAddr) bool {
	i := indexAny(s, "\"<;")
	if i < 0 {
		return false
	}
	switch s[i] {
	case ';':
		return false
	case '<':
		a.display, s = strings.TrimSpace(s[:i]), s[i+1:]
	case '"':
		if i != 0 {
			return false
		}
		end := strings.IndexByte(s[1:], '"')
		if end < 0 || strings.IndexByte(s[1:1+end], '\\') >= 0 {
			return false
		}
		a.display, s = s[1:1+end], strings.TrimLeft(s[2+end:], " \t")
		if s == "" || s[0] != '<' {
			return false
		}
		s = s[1:]
	}
	end := strings.IndexByte(s, '>')
	if end < 0 || !parseURI(s[:end], &a.uri) {
		return false
	}
	s = s[end+1:]
	if s == "" {
		return true
	}
	return s[0] == ';' && parseParams(s[1:], &a.params)
}

// parseURI reads a sip: or sips: URI (RFC 3261 §19.1.1) as sipgo's state
// machine does: userinfo up to the first '@' (unless a '[' comes first),
// the password after its last colon; host, port, parameters. Headers
// (?…), other schemes, the wildcard and anything sipgo would drop or
// normalize give up.
func parseURI(s string, u *sipURI) bool {
	scheme, s, ok := strings.Cut(s, ":")
	switch {
	case !ok:
		return false
	case asciiEqualFold(scheme, "sip"):
		u.scheme = "sip"
	case asciiEqualFold(scheme, "sips"):
		u.scheme = "sips"
	default:
		return false
	}
	if strings.HasPrefix(s, "//") {
		return false
	}
	if k := indexAny(s, "[@"); k >= 0 && s[k] == '@' {
		u.userinfo, s = s[:k], s[k+1:]
		u.user = u.userinfo
		if c := strings.LastIndexByte(u.userinfo, ':'); c > 0 {
			u.user, u.password = u.userinfo[:c], u.userinfo[c+1:]
		}
	} else if k > 0 {
		return false
	}
	if s != "" && s[0] == '[' {
		end := strings.IndexByte(s[:min(len(s), 42)], ']')
		if end <= 0 {
			return false
		}
		u.host, s = s[:end+1], s[end+1:]
	} else {
		i := indexAny(s, "[:;?")
		if i < 0 {
			i = len(s)
		}
		u.host, s = s[:i], s[i:]
		if u.host == "*" {
			return false
		}
	}
	if s != "" && s[0] == ':' {
		if u.port, s, ok = cutPort(s[1:]); !ok {
			return false
		}
	}
	if s == "" {
		return true
	}
	return s[0] == ';' && parseParams(s[1:], &u.params)
}
