// The SUBSCRIBE's answers (200 OK, 489) as bytes, written into a reused
// buffer: RFC 3261 §8.2.6 copies Via, From, To (with our tag), Call-ID and
// CSeq from the request.

package pnp

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"

	"github.com/emiago/sipgo/sip"
)

// responseDest implements RFC 3261 §18.2.2 for UDP with RFC 3581: the
// response goes to the source IP ("received"), at the source port when the
// client asked for rport, else at the Via sent-by port (default 5060). A
// maddr is deliberately ignored: PnP phones expect a unicast answer.
func responseDest(via *sip.ViaHeader, src netip.AddrPort) netip.AddrPort {
	return viaDest(via.Params.Has("rport"), via.Port, src)
}

// viaDest is responseDest from the top Via's parts: whether it has rport,
// and its sent-by port (0 when absent).
func viaDest(rport bool, port int, src netip.AddrPort) netip.AddrPort {
	if rport {
		return src
	}
	return netip.AddrPortFrom(src.Addr(), uint16(portOr5060(port)))
}

// portOr5060 is port, or SIP's default 5060 when it is absent (0).
func portOr5060(port int) int {
	if port == 0 {
		return 5060
	}
	return port
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
	return appendResponseTail(w.b, pkt, server, extra)
}

// appendResponseTail appends what follows CSeq in every answer: the box's
// Contact, Server, the extra header line (without CRLF), an empty body.
func appendResponseTail(b []byte, pkt Packet, server, extra string) []byte {
	if pkt.Local.IsValid() {
		b = append(b, "Contact: <sip:"...)
		// sipgo brackets what net.ParseIP reads as IPv6: not a
		// v4-mapped address, nor one with a zone.
		l := pkt.Local
		v6 := l.Is6() && !l.Is4In6() && l.Zone() == ""
		if v6 {
			b = append(b, '[')
		}
		b = l.AppendTo(b)
		if v6 {
			b = append(b, ']')
		}
		if pkt.LocalPort > 0 {
			b = append(b, ':')
			b = strconv.AppendInt(b, int64(pkt.LocalPort), 10)
		}
		b = append(b, ">\r\n"...)
	}
	if server != "" {
		b = append(b, "Server: "...)
		b = append(b, server...)
		b = append(b, "\r\n"...)
	}
	b = append(b, extra...)
	b = append(b, "\r\nContent-Length: 0\r\n\r\n"...)
	return b
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
	t, _ := to.Params.Get("tag")
	return tagOr(t, callID, key)
}

// tagOr is the phone's To-tag t when it sent a non-empty one, else ours
// derived from the Call-ID.
func tagOr(t, callID string, key []byte) string {
	if t != "" {
		return t
	}
	return derivedTag(callID, key)
}

// derivedTag is our To-tag for a Call-ID: 16 hex digits of its HMAC.
func derivedTag(callID string, key []byte) string {
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
