package pnp

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
	"github.com/google/go-cmp/cmp"
	"github.com/pnpbox/pnpbox/appliance"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

func mustRead(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "subscribe", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parseReq(t testing.TB, b []byte) *sip.Request {
	t.Helper()
	msg, err := sip.NewParser().ParseSIP(b)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	req, ok := msg.(*sip.Request)
	if !ok {
		t.Fatalf("not a request: %T", msg)
	}
	return req
}

func pktFrom(src string) Packet {
	return Packet{
		Source:    netip.MustParseAddrPort(src),
		Multicast: true,
		Local:     netip.MustParseAddr("192.0.2.1"),
		LocalPort: 5060,
		Interface: "eth0",
	}
}

// TestAnswerCaptures runs every captured SUBSCRIBE through Answer and checks
// what the box learns from it, or why it stays silent.
func TestAnswerCaptures(t *testing.T) {
	mac := func(s string) appliance.MAC {
		m, err := appliance.ParseMAC(s)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	type learned struct {
		MAC                     appliance.MAC
		Vendor, Model, Firmware string
		UserAgent               string
		Contact, Target         string
		CallID, PhoneTag        string
	}
	tests := []struct {
		file   string
		src    string
		want   *learned
		reason string
		dest   string
	}{
		{
			file: "grandstream_grp2612w.sip", src: "192.168.1.2:5080", dest: "192.168.1.2:5080",
			want: &learned{MAC: mac("C074AD112233"), Vendor: "Grandstream", Model: "GRP2612W", Firmware: "1.0.5.67",
				UserAgent: "Grandstream GRP2612W 1.0.5.67", Contact: "192.168.1.2:5080", Target: "192.168.1.2:5080",
				CallID: "490431573-5080-1@BJC.BGI.IG.DA", PhoneTag: "395400190"},
		},
		{
			file: "grandstream_gxp2140.sip", src: "172.18.0.77:5060", dest: "172.18.0.77:5060",
			want: &learned{MAC: mac("000B82273B89"), Vendor: "Grandstream", Model: "GXP2140", Firmware: "1.0.11.3",
				UserAgent: "Grandstream GXP2140 1.0.11.3", Contact: "172.18.0.77:5060", Target: "172.18.0.77:5060",
				CallID: "1391437540-5060-1@BJC.BGI.IG.HH", PhoneTag: "1532761203"},
		},
		{
			// rport without a branch: answered at the source port.
			file: "snom_oem.sip", src: "192.168.10.67:5060", dest: "192.168.10.67:5060",
			want: &learned{MAC: mac("00135E874B49"), Vendor: "OEM", Model: "OEM", Firmware: "7.1.19",
				Contact: "192.168.10.67:5060", Target: "192.168.10.67:5060", CallID: "1930770594@192.168.10.67", PhoneTag: "658512961"},
		},
		{
			// MAC only in the Request-URI and To; From is an extension.
			file: "snom_m700.sip", src: "10.0.0.90:5060", dest: "10.0.0.90:5060",
			want: &learned{MAC: mac("000413612345"), Vendor: "snom", Model: "SNOMM700", Firmware: "03.23.0005",
				UserAgent: "snomM700/03.23.0005 (MAC=000413612345; SER= 00000; HW=255)",
				Contact:   "10.0.0.90:5060", Target: "10.0.0.90:5060", CallID: "6cm70qdo.o.8i@10.0.0.90", PhoneTag: "dmrud.mzfyg66"},
		},
		{
			file: "gigaset.sip", src: "192.168.10.68:5060", dest: "192.168.10.68:5060",
			want: &learned{MAC: mac("7C2F80123456"), Vendor: "OEM", Model: "OEM", Firmware: "7.1.19",
				Contact: "192.168.10.68:5060", Target: "192.168.10.68:5060", CallID: "1930770595@192.168.10.68", PhoneTag: "658512962"},
		},
		{
			// Yealink: no %3a, lower case, port 5059 and no rport: the 200
			// goes to the Via port, not the (here different) source port.
			file: "yealink_w52p.sip", src: "10.1.3.239:40000", dest: "10.1.3.239:5059",
			want: &learned{MAC: mac("001565F4F9E1"), Vendor: "yealink", Model: "W52P", Firmware: "25.81.0.10",
				UserAgent: "Yealink W52P 25.81.0.10", Contact: "10.1.3.239:5059", Target: "10.1.3.239:5059",
				CallID: "1536537630@10.1.3.239", PhoneTag: "1536537630"},
		},
		{
			// MAC= form, Event without a space after the colon, no From tag.
			file: "planet_vip2140pt.sip", src: "192.168.1.45:5060", dest: "192.168.1.45:5060",
			want: &learned{MAC: mac("00304FA99948"), Vendor: "PLANET", Model: "VIP-2140PT", Firmware: "2.0.3.2991",
				UserAgent: "PLANET VIP-2140PT", Contact: "192.168.1.45:5060", Target: "192.168.1.45:5060",
				CallID: "322432620212850-163241588724467@192.168.1.45"},
		},
		{
			// Compact header names, "vender", unquoted values, MAC: form.
			file: "panasonic_vender_compact.sip", src: "192.168.1.60:5060", dest: "192.168.1.60:5060",
			want: &learned{MAC: mac("0080F0AABBCC"), Vendor: "Panasonic", Model: "KX-HDV230", Firmware: "01.133",
				Contact: "192.168.1.60:5060", Target: "192.168.1.60:5060", CallID: "99887766@192.168.1.60", PhoneTag: "1234"},
		},
		{
			// AudioCodes puts no MAC in the SUBSCRIBE (only in its HTTP
			// User-Agent). Without a MAC there is nothing to assign, so the
			// box stays silent and counts it, rather than answer 200 and
			// never send the NOTIFY the phone then waits for.
			file: "audiocodes_420hd.sip", src: "10.13.2.37:5060", reason: DropNoMAC,
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			req := parseReq(t, mustRead(t, tt.file))
			reply, dest, d, reason := Answer(req, pktFrom(tt.src), testKey, "pnpbox-test")
			if reason != tt.reason {
				t.Fatalf("reason = %q, want %q", reason, tt.reason)
			}
			if tt.want == nil {
				if reply != nil || d != nil {
					t.Fatalf("want silence, got reply %q, discovery %+v", reply, d)
				}
				return
			}
			if d == nil || reply == nil {
				t.Fatalf("want a 200 and a discovery, got reply %v discovery %v", reply != nil, d != nil)
			}
			if got := dest.String(); got != tt.dest {
				t.Errorf("200 goes to %s, want %s (RFC 3261 §18.2.2)", got, tt.dest)
			}
			phoneTag := ""
			if from := req.From(); from != nil {
				phoneTag, _ = from.Params.Get("tag")
			}
			got := &learned{MAC: d.MAC, Vendor: d.Vendor, Model: d.Model, Firmware: d.Firmware, UserAgent: d.UserAgent,
				Contact: d.Contact.String(), Target: d.Dialog.RemoteAddr.String(), CallID: d.Dialog.CallID, PhoneTag: phoneTag}
			if d.Contact == (netip.AddrPort{}) {
				got.Contact = ""
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("learned (-want +got):\n%s", diff)
			}
			res := parseRes(t, reply)
			if res.StatusCode != 200 {
				t.Fatalf("status %d", res.StatusCode)
			}
			if tag, _ := res.To().Params.Get("tag"); tag == "" || tag != d.Dialog.LocalTag {
				t.Errorf("200 To-tag %q, dialog local tag %q", tag, d.Dialog.LocalTag)
			}
			if v := res.GetHeader("Expires"); v == nil || v.Value() != "0" {
				t.Errorf("Expires = %v, want 0", v)
			}
			if res.CallID().Value() != req.CallID().Value() || res.CSeq().Value() != req.CSeq().Value() {
				t.Errorf("Call-ID/CSeq not copied: %s %s", res.CallID().Value(), res.CSeq().Value())
			}
			if got, want := res.Via().Params.GetOr("received", ""), netip.MustParseAddrPort(tt.src).Addr().String(); got != want {
				t.Errorf("Via received = %q, want %q", got, want)
			}
		})
	}
}

func parseRes(t testing.TB, b []byte) *sip.Response {
	t.Helper()
	msg, err := sip.NewParser().ParseSIP(b)
	if err != nil {
		t.Fatalf("parse reply: %v\n%s", err, b)
	}
	res, ok := msg.(*sip.Response)
	if !ok {
		t.Fatalf("not a response: %T", msg)
	}
	return res
}

// TestAnswerRetransmissionIdentical: the phone retries up to 5 times; every
// copy must get the same answer, with the same To-tag, from no stored state.
func TestAnswerRetransmissionIdentical(t *testing.T) {
	b := mustRead(t, "grandstream_grp2612w.sip")
	r1, _, d1, _ := Answer(parseReq(t, b), pktFrom("192.168.1.2:5080"), testKey, "x")
	r2, _, d2, _ := Answer(parseReq(t, b), pktFrom("192.168.1.2:5080"), testKey, "x")
	if !bytes.Equal(r1, r2) {
		t.Errorf("answers differ:\n%s\n---\n%s", r1, r2)
	}
	if d1.Txn != d2.Txn {
		t.Errorf("transaction keys differ: %q %q", d1.Txn, d2.Txn)
	}
	// A retry as a new transaction (new CSeq) keeps the dialog's tag.
	b3 := bytes.Replace(b, []byte("CSeq: 20000"), []byte("CSeq: 20001"), 1)
	_, _, d3, _ := Answer(parseReq(t, b3), pktFrom("192.168.1.2:5080"), testKey, "x")
	if d3.Txn == d1.Txn || d3.Dialog.LocalTag != d1.Dialog.LocalTag {
		t.Errorf("retry: txn %q (first %q), tag %q (first %q)", d3.Txn, d1.Txn, d3.Dialog.LocalTag, d1.Dialog.LocalTag)
	}
}

func TestAnswerOtherEventIs489(t *testing.T) {
	b := bytes.Replace(mustRead(t, "grandstream_grp2612w.sip"),
		[]byte(`Event: ua-profile;profile-type="device";vendor="Grandstream";model="GRP2612W";version="1.0.5.67"`),
		[]byte("Event: message-summary"), 1)
	reply, _, d, reason := Answer(parseReq(t, b), pktFrom("192.168.1.2:5080"), testKey, "x")
	if reason != "" || d != nil {
		t.Fatalf("reason %q discovery %v", reason, d)
	}
	res := parseRes(t, reply)
	if res.StatusCode != 489 {
		t.Errorf("status %d, want 489 Bad Event", res.StatusCode)
	}
	if h := res.GetHeader("Allow-Events"); h == nil || h.Value() != EventPackage {
		t.Errorf("Allow-Events = %v", h)
	}
}

func TestAnswerIgnoresOtherMethods(t *testing.T) {
	b := []byte("OPTIONS sip:100@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bKx\r\n" +
		"From: <sip:scanner@192.0.2.9>;tag=1\r\nTo: <sip:100@192.0.2.1>\r\nCall-ID: a\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
	reply, _, d, reason := Answer(parseReq(t, b), pktFrom("192.0.2.9:5060"), testKey, "x")
	if reply != nil || d != nil || reason != DropNotSub {
		t.Errorf("reply %q discovery %v reason %q; want silence", reply, d, reason)
	}
}

func TestMACForms(t *testing.T) {
	tests := []struct {
		user    string
		want    string
		wantErr string
	}{
		{"MAC%3A000B82273B89", "000B82273B89", ""},
		{"MAC%3a000b82273b89", "000B82273B89", ""},
		{"MAC:000B82273B89", "000B82273B89", ""},
		{"MAC=000b82273b89", "000B82273B89", ""},
		{"MAC000B82273B89", "000B82273B89", ""},
		{"mac%3a000B82273B89", "000B82273B89", ""},
		{"512", "", "no MAC"},
		{"", "", "no MAC"},
		{"MAC%3A000B82273B8", "", "bad MAC"},    // 11 digits
		{"MAC%3A000B82273B899", "", "bad MAC"},  // 13 digits
		{"MAC%3A010B82273B89", "", "bad MAC"},   // group address
		{"MAC%3A000000000000", "", "bad MAC"},   // all zeros
		{"MAC%3A000B82273BZZ", "", "bad MAC"},   // not hex
		{"MAC%3A%ZZ000B82273B8", "", "bad MAC"}, // broken escape
	}
	for _, tt := range tests {
		m, err := macFromUser(tt.user)
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("macFromUser(%q) = %v, %v; want error containing %q", tt.user, m, err, tt.wantErr)
			}
		case err != nil || m.String() != tt.want:
			t.Errorf("macFromUser(%q) = %v, %v; want %s", tt.user, m, err, tt.want)
		}
	}
}

func TestParseEvent(t *testing.T) {
	tests := []struct {
		in     string
		pkg    string
		params map[string]string
	}{
		{`ua-profile;profile-type="device";vendor="Grandstream";model="GXP2140";version="1.0.11.3"`, "ua-profile",
			map[string]string{"profile-type": "device", "vendor": "Grandstream", "model": "GXP2140", "version": "1.0.11.3"}},
		{`ua-profile;profile-type=device;vender=Panasonic;model=KX-HDV230`, "ua-profile",
			map[string]string{"profile-type": "device", "vendor": "Panasonic", "model": "KX-HDV230"}},
		{`ua-profile ; Vendor = "A;B" ; model="x\"y"`, "ua-profile", map[string]string{"vendor": "A;B", "model": `x"y`}},
		{`ua-profile;vendor="` + strings.Repeat("A", 200) + `"`, "ua-profile", map[string]string{"vendor": strings.Repeat("A", 64)}},
		{"ua-profile;vendor=\"a\x01b\"", "ua-profile", map[string]string{"vendor": "ab"}},
		{"", "", map[string]string{}},
		{"message-summary", "message-summary", map[string]string{}},
	}
	for _, tt := range tests {
		pkg, params := parseEvent(tt.in)
		if pkg != tt.pkg {
			t.Errorf("parseEvent(%q) package = %q, want %q", tt.in, pkg, tt.pkg)
		}
		if diff := cmp.Diff(tt.params, params); diff != "" {
			t.Errorf("parseEvent(%q) params (-want +got):\n%s", tt.in, diff)
		}
	}
}

// TestBuildNotify checks the NOTIFY against reference §4.1 item 3 by
// parsing it back.
func TestBuildNotify(t *testing.T) {
	req := parseReq(t, mustRead(t, "grandstream_gxp2140.sip"))
	_, _, d, _ := Answer(req, pktFrom("172.18.0.77:5060"), testKey, "x")
	const url = "http://192.0.2.1:80/p/0123456789abcdef0123456789abcdef/cfg000B82273B89"
	b, err := BuildNotify(NotifyRequest{Dialog: d.Dialog, CSeq: 1, Branch: "z9hG4bK.test1", LocalPort: 5060, URL: url, Server: "pnpbox/test"})
	if err != nil {
		t.Fatal(err)
	}
	n := parseReq(t, b)
	if n.Method != sip.NOTIFY || n.Recipient.String() != "sip:172.18.0.77:5060" {
		t.Errorf("request line %s %s", n.Method, n.Recipient.String())
	}
	if got := n.Via().Params.GetOr("branch", ""); got != "z9hG4bK.test1" || n.Via().Host != "192.0.2.1" || n.Via().Port != 5060 {
		t.Errorf("Via = %s", n.Via().Value())
	}
	if n.CallID().Value() != req.CallID().Value() {
		t.Errorf("Call-ID %q, want the SUBSCRIBE's %q", n.CallID().Value(), req.CallID().Value())
	}
	if got, _ := n.From().Params.Get("tag"); got != d.Dialog.LocalTag || n.From().Address.User != req.To().Address.User {
		t.Errorf("From = %s; want the SUBSCRIBE's To with tag %s", n.From().Value(), d.Dialog.LocalTag)
	}
	if got, _ := n.To().Params.Get("tag"); got != "1532761203" || n.To().Address.User != req.From().Address.User {
		t.Errorf("To = %s; want the SUBSCRIBE's From with its tag", n.To().Value())
	}
	want := map[string]string{
		"Event":              "ua-profile",
		"Subscription-State": "terminated;reason=timeout",
		"Content-Type":       "application/url",
		"CSeq":               "1 NOTIFY",
		"Contact":            "<sip:192.0.2.1:5060>",
	}
	for h, v := range want {
		if got := n.GetHeader(h); got == nil || got.Value() != v {
			t.Errorf("%s = %v, want %q", h, got, v)
		}
	}
	if string(n.Body()) != url {
		t.Errorf("body %q, want %q", n.Body(), url)
	}
	if cl := n.ContentLength(); cl == nil || int(*cl) != len(url) {
		t.Errorf("Content-Length %v, want %d", cl, len(url))
	}
	if !bytes.HasSuffix(b, []byte("\r\n\r\n"+url)) {
		t.Errorf("body is not exactly the URL after the blank line:\n%q", b)
	}
}
