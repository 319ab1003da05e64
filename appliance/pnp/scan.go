// A header scanner for the SUBSCRIBE hot path: it reads, from the
// datagram's bytes, only the header fields the answer and the Discovery
// need, without building sipgo's header objects. It vouches for a
// datagram only when sipgo's parser would take it without an error and
// read the same values from it; anything else (a header it does not
// model, a shape it does not follow) makes it give up, and the caller
// parses the datagram with sipgo as before. So the scanner can be strict
// and small: real phones send the plain shapes it follows.

package pnp

import (
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// Bounds of what the scanner holds; a request with more gives up.
const (
	maxScanVias   = 6 // Via entries, RFC 3261 §20.42
	maxScanParams = 6 // parameters of one URI, Via or name-addr
)

// viaHop is one Via entry (RFC 3261 §20.42).
type viaHop struct {
	proto, version, transport string
	host                      string // an IPv6 address without brackets
	port                      int
	params                    paramList
}

// scanned is what the scanner read from a SUBSCRIBE. Strings are
// sub-slices of the datagram (or of a folded line's copy): nothing here
// may outlive the datagram's buffer.
type scanned struct {
	ruri                    sipURI
	vias                    [maxScanVias]viaHop
	nvia                    int
	from, to, contact       nameAddr
	hasFrom, hasTo, hasCont bool
	callID                  string
	cseq                    uint32
	cseqMethod              string // "" when there is no CSeq
	// The generic fields Answer reads: the first of each name.
	event, compactEvent, userAgent string
	hasEvent, hasO, hasUA          bool
	contentLength                  int // 0 when absent
}

// scanSubscribe reads a SUBSCRIBE datagram into r. It returns false when
// it cannot vouch that sipgo parses s without error into the same values;
// the caller then parses s with sipgo. s is usually an unsafe view of the
// receive buffer (see answerDatagram).
func scanSubscribe(s string, r *scanned) bool {
	if len(s) > sip.ParseMaxMessageLength {
		return false
	}
	line, rest, ok := cutLine(s)
	if !ok || !r.requestLine(line) {
		return false
	}
	total := len(line) + 2
	for {
		line, next, ok := cutLine(rest)
		if !ok {
			return false
		}
		total += len(rest) - len(next)
		rest = next
		if line == "" {
			break
		}
		// RFC 3261 §7.3.1: a line that starts with white space continues
		// the header field before it.
		if rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
			folded, next, ok := fold(line, rest)
			if !ok {
				return false
			}
			total += len(rest) - len(next)
			line, rest = folded, next
		}
		if !r.header(line) {
			return false
		}
	}
	// sipgo reads the body by the last Content-Length and fails when the
	// datagram holds less (RFC 3261 §18.3).
	if r.contentLength > 0 && (r.contentLength > sip.ParseMaxMessageLength-total || len(rest) < r.contentLength) {
		return false
	}
	return true
}

// cutLine cuts s at its first CRLF. Like sipgo it takes nothing but CRLF
// as a line end (RFC 3261 §7); a bare CR or LF makes it give up.
func cutLine(s string) (line, rest string, ok bool) {
	i := strings.IndexByte(s, '\r')
	if i < 0 || i+1 >= len(s) || s[i+1] != '\n' {
		return "", "", false
	}
	line = s[:i]
	if strings.IndexByte(line, '\n') >= 0 {
		return "", "", false
	}
	return line, s[i+2:], true
}

// fold joins line with the continuation lines at the start of rest as
// sipgo does: trailing blanks of each part dropped, leading blanks of a
// continuation replaced by one space. The joined line is a new string.
func fold(line, rest string) (folded, next string, ok bool) {
	b := []byte(strings.TrimRight(line, " \t"))
	for rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
		var cont string
		cont, rest, ok = cutLine(rest)
		if !ok {
			return "", "", false
		}
		b = append(b, ' ')
		b = append(b, strings.Trim(cont, " \t")...)
	}
	return string(b), rest, true
}

// requestLine reads "SUBSCRIBE URI SIP/2.0" as sipgo splits it: at the
// first two spaces, the version starting with sip or SIP.
func (r *scanned) requestLine(line string) bool {
	rest, ok := strings.CutPrefix(line, "SUBSCRIBE ")
	if !ok {
		return false
	}
	uri, version, ok := strings.Cut(rest, " ")
	if !ok || len(version) < 3 || strings.IndexByte(version, ' ') >= 0 || (version[:3] != "sip" && version[:3] != "SIP") {
		return false
	}
	return parseURI(uri, &r.ruri)
}

// header reads one header line (continuations joined). Names are matched as sipgo
// matches them: ASCII case-insensitively, and the compact forms of RFC
// 3261 §7.3.3 (sipgo knows v, f, t, i, m, l, c; o for Event, RFC 6665
// §8.2.1, is a generic header to it).
func (r *scanned) header(line string) bool {
	colon := strings.IndexByte(line, ':')
	if colon < 0 {
		return false
	}
	name := strings.TrimSpace(line[:colon])
	value := strings.TrimSpace(line[colon+1:])
	if len(name) == 1 {
		switch name[0] | 0x20 {
		case 'v':
			return r.via(value)
		case 'f':
			return r.setFrom(value)
		case 't':
			return r.setTo(value)
		case 'i':
			return r.setCallID(value)
		case 'm':
			return r.contacts(value)
		case 'l':
			return r.setContentLength(value)
		case 'c':
			return value != ""
		case 'o':
			if !r.hasO {
				r.compactEvent, r.hasO = value, true
			}
		}
		return true
	}
	switch {
	case asciiEqualFold(name, "Via"):
		return r.via(value)
	case asciiEqualFold(name, "From"):
		return r.setFrom(value)
	case asciiEqualFold(name, "To"):
		return r.setTo(value)
	case asciiEqualFold(name, "Call-ID"):
		return r.setCallID(value)
	case asciiEqualFold(name, "CSeq"):
		return r.setCSeq(value)
	case asciiEqualFold(name, "Contact"):
		return r.contacts(value)
	case asciiEqualFold(name, "Content-Length"):
		return r.setContentLength(value)
	case asciiEqualFold(name, "Content-Type"):
		return value != ""
	case asciiEqualFold(name, "Max-Forwards"):
		_, err := strconv.ParseUint(value, 10, 32)
		return err == nil
	case asciiEqualFold(name, "Route"), asciiEqualFold(name, "Record-Route"),
		asciiEqualFold(name, "Refer-To"), asciiEqualFold(name, "Referred-By"):
		return false // sipgo parses these; a PnP SUBSCRIBE has none
	case asciiEqualFold(name, "Event"):
		if !r.hasEvent {
			r.event, r.hasEvent = value, true
		}
	case asciiEqualFold(name, "User-Agent"):
		if !r.hasUA {
			r.userAgent, r.hasUA = value, true
		}
	}
	return true
}

// setFrom and setTo keep the last From and To, as sipgo does.
func (r *scanned) setFrom(v string) bool {
	r.from, r.hasFrom = nameAddr{}, true
	return parseNameAddr(v, &r.from)
}

func (r *scanned) setTo(v string) bool {
	r.to, r.hasTo = nameAddr{}, true
	return parseNameAddr(v, &r.to)
}

func (r *scanned) setCallID(v string) bool {
	r.callID = v
	return v != ""
}

func (r *scanned) setContentLength(v string) bool {
	n, err := strconv.ParseUint(v, 10, 32)
	r.contentLength = int(n)
	return err == nil
}

// setCSeq reads "number SP method" (RFC 3261 §20.16) as sipgo does: the
// method is what follows the first blank, the number at most 2^31-1.
func (r *scanned) setCSeq(v string) bool {
	i := indexAny(v, " \t")
	if i < 1 || len(v)-i < 2 {
		return false
	}
	n, err := strconv.ParseUint(v[:i], 10, 32)
	if err != nil || n > 1<<31-1 {
		return false
	}
	r.cseq, r.cseqMethod = uint32(n), v[i+1:]
	return true
}

// contacts reads a Contact value: name-addrs separated by commas outside
// quotes and brackets. The last one is the request's Contact, as in sipgo.
func (r *scanned) contacts(v string) bool {
	for {
		end := len(v)
		inQuote, inBracket := false, false
		for i := 0; i < len(v); i++ {
			switch c := v[i]; {
			case c == '"':
				inQuote = !inQuote
			case inQuote:
			case c == '<':
				inBracket = true
			case c == '>':
				inBracket = false
			case c == ',' && !inBracket:
				end = i
			}
			if end < len(v) {
				break
			}
		}
		r.hasCont = true
		r.contact = nameAddr{}
		if !parseNameAddr(strings.TrimSpace(v[:end]), &r.contact) {
			return false
		}
		if end == len(v) {
			return true
		}
		v = v[end+1:]
	}
}

// via reads a Via value of one or more comma-separated entries, each
// "SIP/2.0/UDP host[:port][;params]". A comma may only follow parameters:
// sipgo looks for it nowhere else.
func (r *scanned) via(v string) bool {
	for {
		if r.nvia == len(r.vias) {
			return false
		}
		h := &r.vias[r.nvia]
		r.nvia++
		var ok bool
		if h.proto, v, ok = cutToken(v, '/'); !ok {
			return false
		}
		if h.version, v, ok = cutToken(v, '/'); !ok {
			return false
		}
		i := indexAny(v, " \t")
		if i < 1 || !isToken(v[:i]) {
			return false
		}
		h.transport, v = v[:i], v[i+1:]
		if v != "" && v[0] == '[' {
			end := strings.IndexByte(v, ']')
			if end < 2 || strings.Trim(v[1:end], "0123456789abcdefABCDEF:.") != "" {
				return false
			}
			h.host, v = v[1:end], v[end+1:]
		} else {
			i := 0
			for i < len(v) && isTokenByte(v[i]) {
				i++
			}
			if i == 0 {
				return false
			}
			h.host, v = v[:i], v[i:]
		}
		if v != "" && v[0] == ':' {
			if h.port, v, ok = cutPort(v[1:]); !ok {
				return false
			}
		}
		if v == "" {
			return true
		}
		if v[0] != ';' {
			return false
		}
		params, rest, more := strings.Cut(v[1:], ",")
		if !parseParams(params, &h.params) {
			return false
		}
		if !more {
			return true
		}
		v = strings.TrimLeft(rest, " \t")
	}
}

// cutToken cuts a non-empty token (RFC 3261 §25.1) that sep follows
// right away.
func cutToken(s string, sep byte) (tok, rest string, ok bool) {
	i := strings.IndexByte(s, sep)
	if i < 1 || !isToken(s[:i]) {
		return "", "", false
	}
	return s[:i], s[i+1:], true
}

func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isTokenByte(s[i]) {
			return false
		}
	}
	return s != ""
}

// isTokenByte: RFC 3261 §25.1 token characters.
func isTokenByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '-', '.', '!', '%', '*', '_', '+', '`', '\'', '~':
		return true
	}
	return false
}

// indexAny is strings.IndexAny for a set of a few ASCII bytes, without
// building the set on every call.
func indexAny(s, set string) int {
	for i := 0; i < len(s); i++ {
		for j := 0; j < len(set); j++ {
			if s[i] == set[j] {
				return i
			}
		}
	}
	return -1
}
