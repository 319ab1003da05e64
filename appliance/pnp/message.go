package pnp

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/emiago/sipgo/sip"
	"github.com/pnpbox/pnpbox/appliance"
)

// EventPackage is the RFC 6080 event package PnP phones subscribe to.
const EventPackage = "ua-profile"

// Drop reasons, counted in Stats and shown in /api/status.
const (
	DropOversize    = "oversize"
	DropUnparsable  = "unparsable"
	DropNotSub      = "not_subscribe"
	DropNoMAC       = "no_mac"
	DropBadMAC      = "bad_mac"
	DropRateLimited = "rate_limited"
	DropOffSubnet   = "off_subnet"
	DropUnknownIf   = "unknown_interface"
	DropQueueFull   = "queue_full"
	DropUnmatched   = "unmatched_response"
	DropReplyBudget = "reply_budget"
)

// Discovery is what one SUBSCRIBE says about a phone: the domain's
// appliance.Discovery, which this package produces.
type Discovery = appliance.Discovery

// Packet is one received datagram with where it came from and went to.
type Packet struct {
	Data      []byte
	Source    netip.AddrPort
	Multicast bool       // sent to the PnP group, not to us
	Local     netip.Addr // our address on the interface it arrived on
	LocalPort int        // our SIP port
	Interface string
}

// Answer is the pure core of the SUBSCRIBE side: for a parsed request it
// returns the reply to send (nil for none), where to send it, and the
// Discovery when the request is a PnP SUBSCRIBE with a usable MAC. reason
// is a Drop* constant when the request is ignored.
//
// tagKey keys the HMAC that derives our To-tag from the Call-ID, so the
// answer to a retransmission is identical and needs no stored state.
func Answer(req *sip.Request, pkt Packet, tagKey []byte, server string) (reply []byte, dest netip.AddrPort, d *Discovery, reason string) {
	return appendAnswer(make([]byte, 0, 512), req, pkt, tagKey, server)
}

// appendAnswer is Answer with the reply appended to buf, so a caller can
// reuse one buffer for many replies; reply aliases buf's array when it
// had the room.
func appendAnswer(buf []byte, req *sip.Request, pkt Packet, tagKey []byte, server string) (reply []byte, dest netip.AddrPort, d *Discovery, reason string) {
	if req.Method != sip.SUBSCRIBE {
		// RFC 3261 would answer 405; a PnP responder answers nothing to
		// scanners (no fingerprint, no reflection).
		return nil, dest, nil, DropNotSub
	}
	via, from, to, callID, cseq := req.Via(), req.From(), req.To(), req.CallID(), req.CSeq()
	if via == nil || from == nil || to == nil || callID == nil || cseq == nil || cseq.MethodName != sip.SUBSCRIBE {
		return nil, dest, nil, DropUnparsable
	}
	dest = responseDest(via, pkt.Source)
	localTag := toTag(to, string(*callID), tagKey)

	ev := eventHeader(req)
	pkg, params := parseEvent(ev)
	if !strings.EqualFold(pkg, EventPackage) {
		reply = appendResponse(buf, req, "489 Bad Event", pkt, localTag, server, "Allow-Events: "+EventPackage)
		return reply, dest, nil, ""
	}

	mac, err := extractMAC(req)
	if err != nil {
		if errors.Is(err, errNoMAC) {
			// AudioCodes and others put no MAC in the SUBSCRIBE; without one
			// the box cannot key an assignment, so it stays silent rather than
			// promise a NOTIFY it will never send.
			return nil, dest, nil, DropNoMAC
		}
		return nil, dest, nil, DropBadMAC
	}

	reply = appendResponse(buf, req, "200 OK", pkt, localTag, server, "Expires: 0") // one-shot: RFC 6665 §4.2.1.1

	d = &Discovery{
		MAC:       mac,
		Vendor:    params["vendor"],
		Model:     strings.ToUpper(params["model"]),
		Firmware:  params["version"],
		UserAgent: clean(headerValue(req, "User-Agent"), 128),
		Source:    pkt.Source,
		Multicast: pkt.Multicast,
		Interface: pkt.Interface,
		Txn:       string(*callID) + "\x00" + strconv.FormatUint(uint64(cseq.SeqNo), 10) + "\x00" + via.Params.GetOr("branch", ""),
	}
	contactURI := ""
	if c := req.Contact(); c != nil {
		contactURI = c.Address.String()
		if ip, err := netip.ParseAddr(c.Address.Host); err == nil {
			port := c.Address.Port
			if port == 0 {
				port = 5060
			}
			d.Contact = netip.AddrPortFrom(ip.Unmap(), uint16(port))
		}
	}
	d.Dialog = appliance.Dialog{
		CallID:       string(*callID),
		RemoteURI:    from.Value(),
		LocalURI:     toWithoutTag(to),
		LocalTag:     localTag,
		RemoteTarget: contactURI,
		RemoteAddr:   NotifyTarget(d.Contact, pkt.Source),
		LocalAddr:    pkt.Local,
		Interface:    pkt.Interface,
	}
	return reply, dest, d, ""
}

// NotifyTarget picks where the NOTIFY goes: the phone's Contact when it
// names the address the SUBSCRIBE came from (its port may differ: a
// Grandstream listens on 5080 or 5060), else the packet source. Never a
// third address: that would make the box a reflector.
func NotifyTarget(contact, source netip.AddrPort) netip.AddrPort {
	if contact.IsValid() && contact.Addr() == source.Addr() {
		return contact
	}
	return source
}

// responseDest implements RFC 3261 §18.2.2 for UDP with RFC 3581: the
// response goes to the source IP ("received"), at the source port when the
// client asked for rport, else at the Via sent-by port (default 5060). A
// maddr is deliberately ignored: PnP phones expect a unicast answer.
func responseDest(via *sip.ViaHeader, src netip.AddrPort) netip.AddrPort {
	if via.Params.Has("rport") {
		return src
	}
	port := via.Port
	if port == 0 {
		port = 5060
	}
	return netip.AddrPortFrom(src.Addr(), uint16(port))
}

// appendResponse appends to b the response RFC 3261 §8.2.6 asks for,
// with status ("200 OK"): every Via in order, the first with received (and
// rport filled in when the client asked for it, RFC 3581), From, To with
// localTag added when the request's To has no tag, Call-ID and CSeq; then
// the box's Contact, Server, the extra header line (without CRLF) and an
// empty body. The bytes are those sipgo's response builder writes for the
// same message (the answer tests compare the two), built without its
// intermediate header objects.
func appendResponse(b []byte, req *sip.Request, status string, pkt Packet, localTag, server, extra string) []byte {
	b = append(b, "SIP/2.0 "...)
	b = append(b, status...)
	b = append(b, "\r\n"...)
	first := true
	for _, h := range req.Headers() {
		if v, ok := h.(*sip.ViaHeader); ok {
			b = appendVia(b, v, first, pkt.Source)
			first = false
		}
	}
	w := headerWriter{b: b}
	req.From().StringWrite(&w)
	w.b = append(w.b, "\r\n"...)
	to := req.To()
	to.StringWrite(&w)
	if !to.Params.Has("tag") {
		w.b = appendParam(append(w.b, ';'), "tag", localTag)
	}
	w.b = append(w.b, "\r\nCall-ID: "...)
	w.b = append(w.b, string(*req.CallID())...)
	cseq := req.CSeq()
	w.b = append(w.b, "\r\nCSeq: "...)
	w.b = strconv.AppendInt(w.b, int64(int(cseq.SeqNo)), 10)
	w.b = append(w.b, ' ')
	w.b = append(w.b, cseq.MethodName...)
	w.b = append(w.b, "\r\n"...)
	if pkt.Local.IsValid() {
		w.b = append(w.b, "Contact: <sip:"...)
		// sipgo brackets what net.ParseIP reads as IPv6: not a
		// v4-mapped address, nor one with a zone.
		l := pkt.Local
		v6 := l.Is6() && !l.Is4In6() && l.Zone() == ""
		if v6 {
			w.b = append(w.b, '[')
		}
		w.b = l.AppendTo(w.b)
		if v6 {
			w.b = append(w.b, ']')
		}
		if pkt.LocalPort > 0 {
			w.b = append(w.b, ':')
			w.b = strconv.AppendInt(w.b, int64(pkt.LocalPort), 10)
		}
		w.b = append(w.b, ">\r\n"...)
	}
	if server != "" {
		w.b = append(w.b, "Server: "...)
		w.b = append(w.b, server...)
		w.b = append(w.b, "\r\n"...)
	}
	w.b = append(w.b, extra...)
	w.b = append(w.b, "\r\nContent-Length: 0\r\n\r\n"...)
	return w.b
}

// headerWriter lets sipgo's header writers append to a byte slice.
type headerWriter struct{ b []byte }

func (w *headerWriter) WriteString(s string) (int, error) {
	w.b = append(w.b, s...)
	return len(s), nil
}

// appendVia appends one Via line as sipgo writes it; on the first Via
// (ours to answer) received is set to the source address and a present
// rport to the source port, as sip.HeaderParams.Add would: the first
// such parameter is overwritten in place, a missing received is appended.
func appendVia(b []byte, v *sip.ViaHeader, first bool, src netip.AddrPort) []byte {
	b = append(b, "Via: "...)
	b = append(b, v.ProtocolName...)
	b = append(b, '/')
	b = append(b, v.ProtocolVersion...)
	b = append(b, '/')
	b = append(b, v.Transport...)
	b = append(b, ' ')
	b = appendHost(b, v.Host)
	if v.Port > 0 {
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(v.Port), 10)
	}
	if !first {
		for _, kv := range v.Params {
			b = appendParam(append(b, ';'), kv.K, kv.V)
		}
		return append(b, "\r\n"...)
	}
	var ab [64]byte
	addr := string(src.Addr().AppendTo(ab[:0])) // does not escape: appended below
	var pb [8]byte
	port := string(strconv.AppendUint(pb[:0], uint64(src.Port()), 10))
	received, rport := false, false
	for _, kv := range v.Params {
		val := kv.V
		switch {
		case kv.K == "received" && !received:
			val, received = addr, true
		case kv.K == "rport" && !rport:
			val, rport = port, true
		}
		b = appendParam(append(b, ';'), kv.K, val)
	}
	if !received {
		b = appendParam(append(b, ';'), "received", addr)
	}
	return append(b, "\r\n"...)
}

// appendParam appends key[=value] as sip.HeaderParams writes it: a value
// with a space or tab is quoted, an empty one is left out.
func appendParam(b []byte, k, v string) []byte {
	b = append(b, k...)
	switch {
	case strings.ContainsAny(v, " \t"):
		b = append(b, `="`...)
		b = append(b, v...)
		b = append(b, '"')
	case v != "":
		b = append(b, '=')
		b = append(b, v...)
	}
	return b
}

// appendHost appends a host as sipgo writes it in a URI or Via: an IPv6
// address in brackets. sipgo's test looks at hosts of at most 46 bytes
// only; that is kept so the bytes stay the same.
func appendHost(b []byte, host string) []byte {
	if len(host) <= 46 && strings.IndexByte(host, ':') >= 0 {
		if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
			b = append(b, '[')
			b = append(b, host...)
			return append(b, ']')
		}
	}
	return append(b, host...)
}

// toTag returns the tag of our side of the dialog: the phone's own To-tag if
// it sent one (a re-SUBSCRIBE inside the dialog), else one derived from the
// Call-ID so every retransmission and retry gets the same tag.
func toTag(to *sip.ToHeader, callID string, key []byte) string {
	if t, ok := to.Params.Get("tag"); ok && t != "" {
		return t
	}
	m, _ := tagMACs.Get().(*tagMAC)
	if m == nil || !bytes.Equal(m.key, key) {
		m = &tagMAC{key: bytes.Clone(key), h: hmac.New(sha256.New, key)}
	}
	m.h.Reset()
	m.in = append(m.in[:0], callID...)
	m.h.Write(m.in)
	sum := m.h.Sum(m.sum[:0])
	var tag [16]byte
	hex.Encode(tag[:], sum[:8])
	tagMACs.Put(m)
	return string(tag[:])
}

// tagMAC is a keyed HMAC kept between answers: making one costs more than
// the rest of the To-tag.
type tagMAC struct {
	key []byte
	h   hash.Hash
	in  []byte
	sum [sha256.Size]byte
}

var tagMACs sync.Pool

// toWithoutTag is the To value without its tag parameters: our URI in
// the dialog.
func toWithoutTag(to *sip.ToHeader) string {
	if !to.Params.Has("tag") {
		return to.Value()
	}
	c := *to
	c.Params = make(sip.HeaderParams, 0, len(to.Params))
	for _, kv := range to.Params {
		if kv.K != "tag" {
			c.Params = append(c.Params, kv)
		}
	}
	return c.Value()
}

// eventHeader returns the Event header value; sipgo does not map the
// compact form "o" (RFC 6665 §8.2.1) to Event, so look for both.
func eventHeader(req *sip.Request) string {
	if v := headerValue(req, "Event"); v != "" {
		return v
	}
	return headerValue(req, "o")
}

// headerValue returns the first header called name (ASCII case
// insensitive), trimmed. sipgo's GetHeader lower-cases every header's name
// it passes, which allocates for names it does not know.
func headerValue(req *sip.Request, name string) string {
	for _, h := range req.Headers() {
		if asciiEqualFold(h.Name(), name) {
			return strings.TrimSpace(h.Value())
		}
	}
	return ""
}

func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// parseEvent splits an Event value into its package and parameters. Values
// may be quoted or not; keys are lower-cased, and Panasonic's "vender"
// spelling is read as vendor (reference §4.1 item 5). Values are cleaned
// of control characters and capped, since they end up on the status page.
// sipgo's UnmarshalHeaderParams is not used: it corrupts keys when values
// are quoted (reference/go-stack.md §1.6).
func parseEvent(v string) (pkg string, params map[string]string) {
	params = map[string]string{}
	first, rest, more := cutUnquoted(v, ';')
	pkg = strings.TrimSpace(first)
	for more {
		var p string
		p, rest, more = cutUnquoted(rest, ';')
		k, val, _ := strings.Cut(p, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		val = strings.TrimSpace(val)
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			val = strings.ReplaceAll(val[1:len(val)-1], `\"`, `"`)
		}
		if k == "vender" {
			k = "vendor"
		}
		if k == "" {
			continue
		}
		if _, dup := params[k]; !dup {
			params[k] = clean(val, 64)
		}
	}
	return pkg, params
}

// cutUnquoted slices s around the first sep outside double quotes (a
// backslash inside quotes escapes the next byte); found is false when
// there is none.
func cutUnquoted(s string, sep byte) (before, after string, found bool) {
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && inQuote:
			i++
		case s[i] == '"':
			inQuote = !inQuote
		case s[i] == sep && !inQuote:
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// clean drops control characters and caps s at n bytes (on a rune
// boundary): header text from the network ends up in records and pages.
func clean(s string, n int) string {
	if len(s) <= n && printableASCII(s) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			continue
		}
		if b.Len()+len(string(r)) > n {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

var errNoMAC = errors.New("no MAC in request")

// extractMAC finds the phone's MAC in the user part of the Request-URI,
// else To, else From (reference §4.1 item 4: the snom M700's From has
// none). Phones write it as MAC%3A…, MAC%3a…, MAC:…, MAC=… or MAC…, any
// case. A user part that starts with MAC but has no valid MAC is an error
// (bad MAC); none at all is errNoMAC.
func extractMAC(req *sip.Request) (appliance.MAC, error) {
	var ub [3]string
	users := append(ub[:0], userPart(req.Recipient))
	if to := req.To(); to != nil {
		users = append(users, userPart(to.Address))
	}
	if from := req.From(); from != nil {
		users = append(users, userPart(from.Address))
	}
	var firstErr error
	for _, u := range users {
		m, err := macFromUser(u)
		if err == nil {
			return m, nil
		}
		if !errors.Is(err, errNoMAC) && firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		return appliance.MAC{}, firstErr
	}
	return appliance.MAC{}, errNoMAC
}

// userPart returns a URI's userinfo. "sip:MAC:0080F0AABBCC@…" parses as user
// "MAC" with password "0080F0AABBCC" (RFC 3261 §19.1.1 userinfo), so the two
// are joined back together.
func userPart(u sip.Uri) string {
	if u.Password != "" {
		return u.User + ":" + u.Password
	}
	return u.User
}

func macFromUser(u string) (appliance.MAC, error) {
	if dec, err := url.PathUnescape(u); err == nil {
		u = dec
	}
	if len(u) < 3 || !strings.EqualFold(u[:3], "MAC") {
		return appliance.MAC{}, errNoMAC
	}
	rest := u[3:]
	if rest != "" && (rest[0] == ':' || rest[0] == '=') {
		rest = rest[1:]
	}
	if len(rest) != 12 {
		return appliance.MAC{}, fmt.Errorf("%w: %q", appliance.ErrBadMAC, clean(u, 40))
	}
	return appliance.ParseMAC(rest)
}

// NotifyRequest is what BuildNotify needs.
type NotifyRequest struct {
	Dialog    appliance.Dialog
	CSeq      uint32
	Branch    string
	LocalPort int
	URL       string
	Server    string
}

// BuildNotify builds the NOTIFY that ends a PnP subscription and carries
// the config URL (reference §4.1 item 3): new Via branch, From = the
// SUBSCRIBE's To plus our tag, To = the SUBSCRIBE's From, same Call-ID,
// Contact = the box, Event: ua-profile,
// Subscription-State: terminated;reason=timeout, Content-Type:
// application/url, exact Content-Length, body = the URL.
func BuildNotify(n NotifyRequest) ([]byte, error) {
	d := n.Dialog
	var ruri sip.Uri
	if err := sip.ParseUri(d.RemoteTarget, &ruri); err != nil || d.RemoteTarget == "" {
		ruri = sip.Uri{Scheme: "sip", Host: d.RemoteAddr.Addr().String(), Port: int(d.RemoteAddr.Port())}
	}
	req := sip.NewRequest(sip.NOTIFY, ruri)
	via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP",
		Host: d.LocalAddr.String(), Port: n.LocalPort, Params: sip.NewParams()}
	via.Params.Add("branch", n.Branch)
	via.Params.Add("rport", "")
	req.AppendHeader(via)
	req.AppendHeader(sip.NewHeader("Max-Forwards", "70"))
	req.AppendHeader(sip.NewHeader("From", d.LocalURI+";tag="+d.LocalTag))
	req.AppendHeader(sip.NewHeader("To", d.RemoteURI))
	cid := sip.CallIDHeader(d.CallID)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: n.CSeq, MethodName: sip.NOTIFY})
	req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", Host: d.LocalAddr.String(), Port: n.LocalPort}})
	req.AppendHeader(sip.NewHeader("Event", EventPackage))
	req.AppendHeader(sip.NewHeader("Subscription-State", "terminated;reason=timeout"))
	if n.Server != "" {
		req.AppendHeader(sip.NewHeader("User-Agent", n.Server))
	}
	req.AppendHeader(sip.NewHeader("Content-Type", "application/url"))
	req.SetBody([]byte(n.URL))
	return []byte(req.String()), nil
}
