package pnp

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
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
		d.Contact = contactAddr(c.Address.Host, c.Address.Port)
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

// contactAddr is the address a Contact's host and port (0 when absent)
// name; the zero AddrPort when the host is not an IP address.
func contactAddr(host string, port int) netip.AddrPort {
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(ip.Unmap(), uint16(portOr5060(port)))
}
