package pnp

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// oracleReply is the reply Answer built with sipgo's response builder
// before it appended bytes itself: the reference the byte builder must
// match exactly (nil when Answer sends nothing).
func oracleReply(req *sip.Request, pkt Packet, tagKey []byte, server string) []byte {
	if req.Method != sip.SUBSCRIBE {
		return nil
	}
	via, from, to, callID, cseq := req.Via(), req.From(), req.To(), req.CallID(), req.CSeq()
	if via == nil || from == nil || to == nil || callID == nil || cseq == nil || cseq.MethodName != sip.SUBSCRIBE {
		return nil
	}
	localTag := toTag(to, string(*callID), tagKey)
	pkg, _ := parseEvent(eventHeader(req))
	if !strings.EqualFold(pkg, EventPackage) {
		res := oracleBase(req, 489, "Bad Event", pkt, localTag, server)
		res.AppendHeader(sip.NewHeader("Allow-Events", EventPackage))
		res.SetBody(nil)
		return []byte(res.String())
	}
	if _, err := extractMAC(req); err != nil {
		return nil
	}
	res := oracleBase(req, 200, "OK", pkt, localTag, server)
	res.AppendHeader(sip.NewHeader("Expires", "0"))
	res.SetBody(nil)
	return []byte(res.String())
}

func oracleBase(req *sip.Request, code int, reason string, pkt Packet, localTag, server string) *sip.Response {
	res := sip.NewResponse(code, reason)
	for i, h := range req.GetHeaders("Via") {
		v, ok := h.(*sip.ViaHeader)
		if !ok {
			continue
		}
		v = v.Clone()
		if i == 0 {
			if v.Params == nil {
				v.Params = sip.NewParams()
			}
			src := pkt.Source
			v.Params.Add("received", src.Addr().String())
			if v.Params.Has("rport") {
				v.Params.Add("rport", strconv.Itoa(int(src.Port())))
			}
		}
		res.AppendHeader(v)
	}
	res.AppendHeader(req.From())
	to := cloneTo(req.To())
	if _, ok := to.Params.Get("tag"); !ok {
		if to.Params == nil {
			to.Params = sip.NewParams()
		}
		to.Params.Add("tag", localTag)
	}
	res.AppendHeader(to)
	res.AppendHeader(req.CallID())
	res.AppendHeader(req.CSeq())
	if pkt.Local.IsValid() {
		res.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", Host: pkt.Local.String(), Port: pkt.LocalPort}})
	}
	if server != "" {
		res.AppendHeader(sip.NewHeader("Server", server))
	}
	return res
}

// replyVariants are the captured SUBSCRIBEs and edits of them that reach
// the other branches of the reply builder: several Vias, rport and
// received already present, a To-tag, compact headers, IPv6, another
// event package.
func replyVariants(t testing.TB) [][]byte {
	files, err := filepath.Glob(filepath.Join("testdata", "subscribe", "*.sip"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no captures: %v", err)
	}
	var out [][]byte
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
		edits := []func(string) string{
			func(s string) string { // a proxy on the way: two Vias
				return strings.Replace(s, "Via: ", "Via: SIP/2.0/UDP 198.18.0.9:5062;branch=z9hG4bKp1;rport\r\nVia: ", 1)
			},
			func(s string) string { // both in one header line
				return strings.Replace(s, "\nVia: ", "\nVia: SIP/2.0/UDP [2001:db8::9]:5062;branch=z9hG4bKp2, ", 1)
			},
			func(s string) string { // rport asked for, received already set
				j := strings.Index(s, "\nVia:") + 1
				if j == 0 {
					return s
				}
				i := j + strings.IndexByte(s[j:], '\n')
				if s[i-1] == '\r' {
					i--
				}
				return s[:j] + "Via: SIP/2.0/UDP host.example;received=1.2.3.4;rport;branch=z9hG4bKx;rport=9" + s[i:]
			},
			func(s string) string { // a re-SUBSCRIBE inside the dialog
				return strings.Replace(s, "\nTo: ", "\nTo: \"Box\" ", 1)
			},
			func(s string) string { return strings.Replace(s, "ua-profile", "presence", 1) },
			func(s string) string {
				s = strings.Replace(s, "\nVia:", "\nv:", 1)
				s = strings.Replace(s, "\nCall-ID:", "\ni:", 1)
				return strings.Replace(s, "\nFrom:", "\nf:", 1)
			},
		}
		for _, e := range edits {
			out = append(out, []byte(e(string(b))))
		}
		tagged := strings.Replace(string(b), "\nTo: ", "\nTo: <sip:x@y>;tag=abc;a=\"b c\"\r\nX-Old-To: ", 1)
		out = append(out, []byte(tagged))
	}
	return out
}

func replyPackets() []Packet {
	return []Packet{
		pktFrom("172.18.0.77:5060"),
		{Source: netip.MustParseAddrPort("[2001:db8::77]:5080"), Local: netip.MustParseAddr("2001:db8::1"), LocalPort: 5060},
		{Source: netip.MustParseAddrPort("[fe80::1%eth0]:5060"), Local: netip.MustParseAddr("fe80::2%eth0")},
		{Source: netip.MustParseAddrPort("10.0.0.2:1")},
		{Source: netip.MustParseAddrPort("[::ffff:10.0.0.2]:5060"), Local: netip.MustParseAddr("::ffff:10.0.0.1"), LocalPort: 5060},
	}
}

// TestReplyBytesMatchSipgo: for every captured SUBSCRIBE and edits of it,
// the reply Answer appends is byte for byte the one sipgo's response
// builder wrote for it.
func TestReplyBytesMatchSipgo(t *testing.T) {
	answered := 0
	for i, data := range replyVariants(t) {
		msg, err := sip.NewParser().ParseSIP(data)
		if err != nil {
			continue // an edit sipgo does not take: no reply either way
		}
		req := msg.(*sip.Request)
		for _, pkt := range replyPackets() {
			for _, server := range []string{"pnpbox", ""} {
				want := oracleReply(req, pkt, testKey, server)
				got, _, _, _ := Answer(req, pkt, testKey, server)
				if !bytes.Equal(got, want) {
					t.Fatalf("variant %d, %v, server %q:\ngot  %q\nwant %q", i, pkt.Source, server, got, want)
				}
				if got != nil {
					answered++
				}
			}
		}
	}
	if answered < 100 {
		t.Fatalf("only %d replies compared", answered)
	}
}

// FuzzReplyBytes compares the appended reply with sipgo's for arbitrary
// requests that parse, from an IPv4 or IPv6 source.
func FuzzReplyBytes(f *testing.F) {
	for _, v := range replyVariants(f) {
		f.Add(v, true, uint16(5060))
	}
	f.Fuzz(func(t *testing.T, data []byte, v6 bool, port uint16) {
		if len(data) > MaxDatagram {
			return
		}
		msg, err := sip.NewParser().ParseSIP(data)
		if err != nil {
			return
		}
		req, ok := msg.(*sip.Request)
		if !ok {
			return
		}
		pkt := Packet{Source: netip.AddrPortFrom(netip.MustParseAddr("192.0.2.9"), port), Local: netip.MustParseAddr("192.0.2.1"), LocalPort: 5060}
		if v6 {
			pkt = Packet{Source: netip.AddrPortFrom(netip.MustParseAddr("2001:db8::9"), port), Local: netip.MustParseAddr("2001:db8::1"), LocalPort: int(port)}
		}
		want := oracleReply(req, pkt, testKey, "x")
		got, _, _, _ := Answer(req, pkt, testKey, "x")
		if !bytes.Equal(got, want) {
			t.Fatalf("got  %q\nwant %q", got, want)
		}
	})
}

func cloneTo(to *sip.ToHeader) *sip.ToHeader {
	f := to.AsFrom() // deep copy of address and params
	return &sip.ToHeader{DisplayName: f.DisplayName, Address: f.Address, Params: f.Params}
}

// splitUnquoted is how parseEvent split the Event value before it cut
// it in place: the reference for FuzzCutUnquoted.
func splitUnquoted(s string, sep byte) []string {
	var out []string
	inQuote, start := false, 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && inQuote:
			i++
		case s[i] == '"':
			inQuote = !inQuote
		case s[i] == sep && !inQuote:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// FuzzCutUnquoted: cutting repeatedly gives the parts splitting gave.
func FuzzCutUnquoted(f *testing.F) {
	f.Add(`ua-profile;profile-type="device";vendor="a\";b";model=x;`)
	f.Add(`"\`)
	f.Fuzz(func(t *testing.T, s string) {
		want := splitUnquoted(s, ';')
		var got []string
		p, rest, more := cutUnquoted(s, ';')
		got = append(got, p)
		for more {
			p, rest, more = cutUnquoted(rest, ';')
			got = append(got, p)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%q: got %q, want %q", s, got, want)
		}
	})
}
