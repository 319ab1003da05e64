// Answer for a scanned SUBSCRIBE: the same reply, destination, Discovery
// and drop reason appendAnswer gives for sipgo's parse of the datagram
// (the scan tests run both on every capture, the RFC 4475 messages and
// edits of them, and a fuzz target on random input).

package pnp

import (
	"net/netip"
	"strconv"
	"strings"
	"unsafe"

	"github.com/emiago/sipgo/sip"
	"github.com/pnpbox/pnpbox/appliance"
)

// answerDatagram answers a SUBSCRIBE datagram: from the scanner's reading
// when it vouches for data, else from sipgo's parse, which also rejects
// what does not parse (DropUnparsable). parsed is false when sipgo could
// not parse it; reply aliases buf's array when it had the room. Nothing
// returned refers to data.
func answerDatagram(buf, data []byte, parser *sip.Parser, pkt Packet, tagKey []byte, server string) (reply []byte, dest netip.AddrPort, d *Discovery, reason string, parsed bool) {
	reply, dest, d, reason, ok := appendScannedAnswer(buf, data, pkt, tagKey, server)
	if ok {
		return reply, dest, d, reason, true
	}
	msg, err := parser.ParseSIP(data)
	req, isReq := msg.(*sip.Request)
	if err != nil || !isReq {
		return nil, dest, nil, DropUnparsable, false
	}
	reply, dest, d, reason = appendAnswer(buf, req, pkt, tagKey, server)
	return reply, dest, d, reason, true
}

// appendScannedAnswer is appendAnswer for a datagram the scanner reads;
// ok is false when it does not vouch for data (see scanSubscribe) and
// nothing else is returned then.
func appendScannedAnswer(buf, data []byte, pkt Packet, tagKey []byte, server string) (reply []byte, dest netip.AddrPort, d *Discovery, reason string, ok bool) {
	// A view of the datagram, not a copy: the scanner's strings are
	// sub-slices of it, so every string kept in the Discovery is copied
	// (discoveryStrings) before the receive buffer is reused.
	s := unsafe.String(unsafe.SliceData(data), len(data))
	var r scanned
	if !scanSubscribe(s, &r) {
		return nil, dest, nil, "", false
	}
	if r.nvia == 0 || !r.hasFrom || !r.hasTo || r.callID == "" || r.cseqMethod != string(sip.SUBSCRIBE) {
		return nil, dest, nil, DropUnparsable, true
	}
	via := &r.vias[0]
	_, rport := via.params.get("rport")
	dest = viaDest(rport, via.port, pkt.Source)
	phoneTag, _ := r.to.params.get("tag")
	localTag := tagOr(phoneTag, r.callID, tagKey)
	ev := r.event
	if ev == "" {
		ev = r.compactEvent
	}
	pkg, vendor, model, version := eventInfo(ev)
	if !strings.EqualFold(pkg, EventPackage) {
		reply = appendScannedResponse(buf, &r, "489 Bad Event", pkt, localTag, server, "Allow-Events: "+EventPackage)
		return reply, dest, nil, "", true
	}
	mac, err := scannedMAC(&r)
	if err != nil {
		if err == errNoMAC {
			return nil, dest, nil, DropNoMAC, true
		}
		return nil, dest, nil, DropBadMAC, true
	}
	reply = appendScannedResponse(buf, &r, "200 OK", pkt, localTag, server, "Expires: 0")
	d = &Discovery{MAC: mac, Source: pkt.Source, Multicast: pkt.Multicast, Interface: pkt.Interface}
	if r.hasCont {
		d.Contact = contactAddr(r.contact.uri.host, r.contact.uri.port)
	}
	d.Dialog = appliance.Dialog{
		LocalTag:   localTag,
		RemoteAddr: NotifyTarget(d.Contact, pkt.Source),
		LocalAddr:  pkt.Local,
		Interface:  pkt.Interface,
	}
	discoveryStrings(d, &r, vendor, model, version)
	return reply, dest, d, "", true
}

// discoveryStrings fills in the Discovery's text as appendAnswer does,
// copied out of the datagram into one new string: one allocation for
// all of them.
func discoveryStrings(d *Discovery, r *scanned, vendor, model, version string) {
	var sb [512]byte
	b := sb[:0]
	var ends [10]int
	n := 0
	mark := func() { ends[n] = len(b); n++ }
	b = append(b, r.callID...)
	mark()
	b = appendNameAddr(b, &r.from, true)
	mark()
	b = appendNameAddr(b, &r.to, false)
	mark()
	if r.hasCont {
		b = appendURI(b, &r.contact.uri)
	}
	mark()
	b = append(b, clean(vendor, 64)...)
	mark()
	b = appendUpper(b, clean(model, 64))
	mark()
	b = append(b, clean(version, 64)...)
	mark()
	b = append(b, clean(r.userAgent, 128)...)
	mark()
	b = append(b, r.callID...)
	b = append(b, 0)
	b = strconv.AppendUint(b, uint64(r.cseq), 10)
	b = append(b, 0)
	branch, _ := r.vias[0].params.get("branch")
	b = append(b, branch...)
	mark()
	b = append(b, d.Dialog.LocalTag...) // the phone's own tag is in the datagram too
	mark()
	s := string(b)
	part := func(i int) string {
		if i == 0 {
			return s[:ends[0]]
		}
		return s[ends[i-1]:ends[i]]
	}
	d.Dialog.CallID = part(0)
	d.Dialog.RemoteURI = part(1)
	d.Dialog.LocalURI = part(2)
	d.Dialog.RemoteTarget = part(3)
	d.Vendor, d.Model, d.Firmware, d.UserAgent = part(4), part(5), part(6), part(7)
	d.Txn = part(8)
	d.Dialog.LocalTag = part(9)
}

// appendUpper appends strings.ToUpper(s), without allocating for ASCII.
func appendUpper(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return append(b, strings.ToUpper(s)...)
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// eventInfo is parseEvent for the three parameters the Discovery keeps,
// without the map: the package, and the first vendor (or vender), model
// and version, unquoted. Values are not yet cleaned.
func eventInfo(v string) (pkg, vendor, model, version string) {
	first, rest, more := cutUnquoted(v, ';')
	pkg = strings.TrimSpace(first)
	var seen [3]bool
	for more {
		var p string
		p, rest, more = cutUnquoted(rest, ';')
		k, val, _ := strings.Cut(p, "=")
		k = strings.TrimSpace(k)
		if !isASCII(k) {
			k = strings.ToLower(k) // as parseEvent: a few non-ASCII letters lower to ASCII
		}
		var i int
		switch {
		case asciiEqualFold(k, "vendor"), asciiEqualFold(k, "vender"):
			i = 0
		case asciiEqualFold(k, "model"):
			i = 1
		case asciiEqualFold(k, "version"):
			i = 2
		default:
			continue
		}
		if seen[i] {
			continue
		}
		seen[i] = true
		val = strings.TrimSpace(val)
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			val = strings.ReplaceAll(val[1:len(val)-1], `\"`, `"`)
		}
		switch i {
		case 0:
			vendor = val
		case 1:
			model = val
		default:
			version = val
		}
	}
	return pkg, vendor, model, version
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// scannedMAC is extractMAC for the scanned request: the MAC in the user
// part of the Request-URI, else To, else From.
func scannedMAC(r *scanned) (appliance.MAC, error) {
	var firstErr error
	for _, u := range [3]*sipURI{&r.ruri, &r.to.uri, &r.from.uri} {
		user := u.user
		if u.password != "" {
			user = u.userinfo // user + ":" + password, as userPart joins them
		}
		m, err := macFromUserView(user)
		if err == nil {
			return m, nil
		}
		if err != errNoMAC && firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		return appliance.MAC{}, firstErr
	}
	return appliance.MAC{}, errNoMAC
}

// macFromUserView is macFromUser without url.PathUnescape's copy for the
// common MAC%3A… and MAC%3D… forms (the only escape right after MAC); the
// rest go to macFromUser. The error for a wrong length is ErrBadMAC as
// there, not the same text.
func macFromUserView(u string) (appliance.MAC, error) {
	if len(u) >= 6 && u[3] == '%' && strings.IndexByte(u[:3], '%') < 0 && strings.IndexByte(u[4:], '%') < 0 &&
		asciiEqualFold(u[:3], "MAC") && (asciiEqualFold(u[4:6], "3A") || asciiEqualFold(u[4:6], "3D")) {
		if len(u) != 18 {
			return appliance.MAC{}, appliance.ErrBadMAC
		}
		return appliance.ParseMAC(u[6:])
	}
	return macFromUser(u)
}

// appendScannedResponse is appendResponse for the scanned request.
func appendScannedResponse(b []byte, r *scanned, status string, pkt Packet, localTag, server, extra string) []byte {
	b = append(b, "SIP/2.0 "...)
	b = append(b, status...)
	b = append(b, "\r\n"...)
	for i := range r.nvia {
		b = appendHopVia(b, &r.vias[i], i == 0, pkt.Source)
	}
	b = append(b, "From: "...)
	b = appendNameAddr(b, &r.from, true)
	b = append(b, "\r\nTo: "...)
	b = appendNameAddr(b, &r.to, true)
	if _, ok := r.to.params.get("tag"); !ok {
		b = appendParam(append(b, ';'), "tag", localTag)
	}
	b = append(b, "\r\nCall-ID: "...)
	b = append(b, r.callID...)
	b = append(b, "\r\nCSeq: "...)
	b = strconv.AppendUint(b, uint64(r.cseq), 10)
	b = append(b, ' ')
	b = append(b, r.cseqMethod...)
	b = append(b, "\r\n"...)
	return appendResponseTail(b, pkt, server, extra)
}

// appendHopVia is appendVia for a scanned Via entry.
func appendHopVia(b []byte, v *viaHop, first bool, src netip.AddrPort) []byte {
	b = append(b, "Via: "...)
	b = append(b, v.proto...)
	b = append(b, '/')
	b = append(b, v.version...)
	b = append(b, '/')
	b = append(b, v.transport...)
	b = append(b, ' ')
	b = appendHost(b, v.host)
	if v.port > 0 {
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(v.port), 10)
	}
	if !first {
		for _, kv := range v.params.kv[:v.params.n] {
			b = appendParam(append(b, ';'), kv.k, kv.v)
		}
		return append(b, "\r\n"...)
	}
	var ab [64]byte
	addr := src.Addr().AppendTo(ab[:0])
	var pb [8]byte
	port := strconv.AppendUint(pb[:0], uint64(src.Port()), 10)
	received := false
	for _, kv := range v.params.kv[:v.params.n] {
		b = append(b, ';')
		switch kv.k {
		case "received":
			b = append(append(b, "received="...), addr...)
			received = true
		case "rport":
			b = append(append(b, "rport="...), port...)
		default:
			b = appendParam(b, kv.k, kv.v)
		}
	}
	if !received {
		b = append(append(b, ";received="...), addr...)
	}
	return append(b, "\r\n"...)
}

// appendNameAddr appends a From, To or Contact value as sipgo writes it:
// a display name in quotes, the URI in angle brackets, the parameters
// (the tag only when withTag).
func appendNameAddr(b []byte, a *nameAddr, withTag bool) []byte {
	if a.display != "" {
		b = append(b, '"')
		b = append(b, a.display...)
		b = append(b, `" `...)
	}
	b = append(b, '<')
	b = appendURI(b, &a.uri)
	b = append(b, '>')
	for _, kv := range a.params.kv[:a.params.n] {
		if kv.k == "tag" && !withTag {
			continue
		}
		b = appendParam(append(b, ';'), kv.k, kv.v)
	}
	return b
}

// appendURI appends a URI as sip.Uri.StringWrite writes it.
func appendURI(b []byte, u *sipURI) []byte {
	b = append(b, u.scheme...)
	b = append(b, ':')
	if u.user != "" {
		b = append(b, u.user...)
		if u.password != "" {
			b = append(b, ':')
			b = append(b, u.password...)
		}
		b = append(b, '@')
	}
	b = append(b, u.host...)
	if u.port > 0 {
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(u.port), 10)
	}
	for _, kv := range u.params.kv[:u.params.n] {
		b = appendParam(append(b, ';'), kv.k, kv.v)
	}
	return b
}
