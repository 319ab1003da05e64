package pnp

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// answerOutcome is everything the box does with one SUBSCRIBE.
type answerOutcome struct {
	reply  []byte
	dest   netip.AddrPort
	d      *Discovery
	reason string
}

// sipgoOutcome is the reference: sipgo's parse, then Answer.
func sipgoOutcome(data []byte, pkt Packet, server string) answerOutcome {
	msg, err := sip.NewParser().ParseSIP(data)
	req, ok := msg.(*sip.Request)
	if err != nil || !ok {
		return answerOutcome{reason: DropUnparsable}
	}
	reply, dest, d, reason := Answer(req, pkt, testKey, server)
	return answerOutcome{reply, dest, d, reason}
}

// compareScan runs the scanner's answer and the reference on data. It
// returns whether the scanner vouched for data, and a difference.
func compareScan(data []byte, pkt Packet, server string) (scanned bool, diff string) {
	reply, dest, d, reason, ok := appendScannedAnswer(nil, data, pkt, testKey, server)
	if !ok {
		if reply != nil || d != nil || reason != "" {
			return false, "gave up but returned an answer"
		}
		return false, ""
	}
	want := sipgoOutcome(data, pkt, server)
	switch {
	case !bytes.Equal(reply, want.reply):
		return true, fmt.Sprintf("reply:\ngot  %q\nwant %q", reply, want.reply)
	case reason != want.reason:
		return true, fmt.Sprintf("reason %q, want %q", reason, want.reason)
	case want.reply != nil && dest != want.dest:
		return true, fmt.Sprintf("dest %v, want %v", dest, want.dest)
	case (d == nil) != (want.d == nil):
		return true, fmt.Sprintf("discovery %+v, want %+v", d, want.d)
	case d != nil && *d != *want.d:
		return true, fmt.Sprintf("discovery:\ngot  %+v\nwant %+v", *d, *want.d)
	}
	return true, ""
}

// scanEdits are edits of a captured SUBSCRIBE that the scanner must read
// itself (fast) or leave to sipgo (!fast), each with the same outcome as
// sipgo's parse: RFC 3261 §7.3.1 folding and blanks around the colon,
// §7.3.3 compact forms, names in any case, several Vias, IPv6, a To-tag,
// other events, missing mandatory headers, body and shapes it leaves to
// sipgo.
var scanEdits = []scanEdit{
	{"as captured", true, func(s string) string { return s }},
	{"two Via headers", true, func(s string) string {
		return replaceHeader(s, "Via", "Via: SIP/2.0/UDP 198.18.0.9:5062;branch=z9hG4bKp1;rport\r\n$")
	}},
	{"two Vias in one line, IPv6", true, func(s string) string {
		return strings.Replace(s, "\nVia: ", "\nVia: SIP/2.0/UDP [2001:db8::9]:5062;branch=z9hG4bKp2, \t", 1)
	}},
	{"Via received and rport=, branch twice", true, func(s string) string {
		return replaceHeader(s, "Via", "Via: SIP/2.0/UDP host.example;received=1.2.3.4;rport;branch=z9hG4bKx;rport=9;branch=z9hG4bKy")
	}},
	{"IPv6 Via without port", true, func(s string) string {
		return replaceHeader(s, "Via", "Via: SIP/2.0/UDP [2001:db8::7];branch=z9hG4bKv6")
	}},
	{"compact names", true, func(s string) string {
		for _, n := range [][2]string{{"Via", "v"}, {"From", "f"}, {"To", "t"}, {"Call-ID", "i"}, {"Contact", "m"}, {"Event", "o"}, {"Content-Length", "l"}} {
			s = strings.Replace(s, "\n"+n[0]+":", "\n"+n[1]+":", 1)
		}
		return s
	}},
	{"upper-case compact names", true, func(s string) string {
		for _, n := range [][2]string{{"Via", "V"}, {"From", "F"}, {"To", "T"}, {"Call-ID", "I"}, {"Contact", "M"}, {"Event", "O"}} {
			s = strings.Replace(s, "\n"+n[0]+":", "\n"+n[1]+":", 1)
		}
		return s
	}},
	{"names in odd case, blanks around colons", true, func(s string) string {
		for _, n := range [][2]string{{"Via:", "VIA :"}, {"From:", "from\t:  "}, {"To:", "tO:"}, {"Call-ID:", "call-id :"},
			{"CSeq:", "CSEQ:"}, {"Contact:", "CONTACT:"}, {"Event:", "event :"}, {"User-Agent:", "user-AGENT:"}, {"Max-Forwards:", "max-forwards:"}} {
			s = strings.Replace(s, "\n"+n[0], "\n"+n[1], 1)
		}
		return s
	}},
	{"folded Event and Via", true, func(s string) string {
		s = strings.Replace(s, ";vendor=", ";\r\n  vendor=", 1)
		s = strings.Replace(s, "\nEvent: ", "\nEvent:\r\n\t", 1)
		return strings.Replace(s, "\nVia: SIP/2.0/UDP ", "\nVia: SIP/2.0/UDP \r\n ", 1)
	}},
	{"folded From and User-Agent", true, func(s string) string {
		s = strings.Replace(s, "\nFrom: ", "\nFrom:  \r\n   ", 1)
		return strings.Replace(s, "\nUser-Agent: ", "\nUser-Agent: a \r\n\t b \r\n c ", 1)
	}},
	{"re-SUBSCRIBE with a To-tag", true, func(s string) string {
		return replaceHeader(s, "To", `To: "Box" <sip:MAC%3A000B82273B89@224.0.1.75>;tag=abc123;x=y`)
	}},
	{"To-tag empty", true, func(s string) string { return replaceHeader(s, "To", "$;tag=") }},
	{"unquoted display names", true, func(s string) string {
		s = replaceHeader(s, "From", "From: Phone  One <"+headerURI(s, "From")+">;tag=1")
		return replaceHeader(s, "To", `To: "" <`+headerURI(s, "To")+">")
	}},
	{"URI parameters, sips, port 00080", true, func(s string) string {
		s = replaceHeader(s, "Contact", "Contact: <sips:phone@192.0.2.44:00080;transport=udp;lr>;expires=0")
		return replaceHeader(s, "From", "From: <"+strings.Replace(headerURI(s, "From"), "sip:", "SIP:", 1)+";user=phone>;tag=f1")
	}},
	{"IPv6 Contact", true, func(s string) string { return replaceHeader(s, "Contact", "Contact: <sip:[2001:db8::5]:5062>") }},
	{"two Contacts, last wins", true, func(s string) string {
		return replaceHeader(s, "Contact", `Contact: "a,b" <sip:198.18.0.1:1>;q=1, <sip:u:p@198.18.0.2:2>`)
	}},
	{"Contact without port", true, func(s string) string { return replaceHeader(s, "Contact", "Contact: <sip:198.18.0.3>") }},
	{"duplicate From, To, Call-ID, CSeq: last wins", true, func(s string) string {
		s = replaceHeader(s, "From", "From: <sip:MAC%3A000B82000001@x>;tag=old\r\n$")
		s = replaceHeader(s, "To", "To: <sip:other@x>\r\n$")
		s = replaceHeader(s, "Call-ID", "Call-ID: first@x\r\n$")
		return replaceHeader(s, "CSeq", "CSeq: 9 SUBSCRIBE\r\n$")
	}},
	{"two Events, two User-Agents: first wins", true, func(s string) string {
		s = replaceHeader(s, "Event", "$\r\nEvent: presence\r\no: ua-profile;vendor=x")
		return strings.Replace(s, "\r\n\r\n", "\r\nUser-Agent: second\r\n\r\n", 1)
	}},
	{"empty Event, compact o", true, func(s string) string {
		return replaceHeader(s, "Event", "Event:\r\no: ua-profile;model=\"m-1\";VENDOR=v;vender=w;version=\"1\\\"2\"")
	}},
	{"other event", true, func(s string) string { return strings.Replace(s, "ua-profile", "presence", 1) }},
	{"no event", true, func(s string) string { return replaceHeader(s, "Event", "X-No-Event: 1") }},
	{"event in odd case", true, func(s string) string { return strings.Replace(s, "ua-profile", "UA-Profile", 1) }},
	{"model in lower case, non-ASCII", true, func(s string) string {
		return strings.Replace(s, ";model=", ";model=\"gxp\u00e9\x01\";x=", 1)
	}},
	{"MAC in lower-case escape", true, func(s string) string { return strings.ReplaceAll(s, "MAC%3A", "mac%3a") }},
	{"MAC with another escape", true, func(s string) string { return strings.ReplaceAll(s, "MAC%3A", "MAC%3A%30") }},
	{"MAC too short", true, func(s string) string { return strings.ReplaceAll(s, "MAC%3A000B82273B89", "MAC%3A000B82273B8") }},
	{"no MAC", true, func(s string) string {
		return strings.ReplaceAll(strings.ReplaceAll(s, "MAC%3A000B82273B89", "phone"), "MAC", "x")
	}},
	{"MAC: with empty password", true, func(s string) string { return strings.ReplaceAll(s, "MAC%3A000B82273B89@", "MAC:@") }},
	{"no Via", true, func(s string) string { return replaceHeader(s, "Via", "X: 1") }},
	{"no From", true, func(s string) string { return replaceHeader(s, "From", "X: 1") }},
	{"no To", true, func(s string) string { return replaceHeader(s, "To", "X: 1") }},
	{"no Call-ID", true, func(s string) string { return replaceHeader(s, "Call-ID", "X: 1") }},
	{"no CSeq", true, func(s string) string { return replaceHeader(s, "CSeq", "X: 1") }},
	{"CSeq of another method", true, func(s string) string { return replaceHeader(s, "CSeq", "CSeq: 1 NOTIFY") }},
	{"body shorter than Content-Length", false, func(s string) string { return replaceHeader(s, "Content-Length", "Content-Length: 5") }},
	{"body as long as Content-Length", true, func(s string) string {
		return replaceHeader(s, "Content-Length", "Content-Length: 5\r\nContent-Type: text/plain") + "hello"
	}},
	{"bad Max-Forwards", false, func(s string) string { return replaceHeader(s, "Max-Forwards", "Max-Forwards: seventy") }},
	{"bare LF", false, func(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }},
	{"a Route", false, func(s string) string { return replaceHeader(s, "Max-Forwards", "$\r\nRoute: <sip:p;lr>") }},
	{"quoted URI parameter", false, func(s string) string {
		return replaceHeader(s, "Contact", `Contact: <sip:198.18.0.3;x="a b">`)
	}},
	{"Via with blanks", false, func(s string) string { return strings.Replace(s, "SIP/2.0/UDP", "SIP / 2.0 / UDP", 1) }},
	{"URI without brackets", false, func(s string) string { return replaceHeader(s, "From", "From: sip:a@b;tag=1") }},
	{"no empty line", false, func(s string) string { return strings.TrimSuffix(s, "\r\n") }},
}

// replaceHeader replaces the first line whose header name is name with
// repl, in which $ stands for the old line.
func replaceHeader(s, name, repl string) string {
	i := strings.Index(s, "\r\n"+name+":")
	if i < 0 {
		return s
	}
	i += 2
	j := i + strings.Index(s[i:], "\r\n")
	return s[:i] + strings.ReplaceAll(repl, "$", s[i:j]) + s[j:]
}

// headerURI is the URI in angle brackets of the first header called name.
func headerURI(s, name string) string {
	i := strings.Index(s, "\r\n"+name+":")
	if i < 0 {
		return ""
	}
	l := s[i:]
	a, b := strings.IndexByte(l, '<'), strings.IndexByte(l, '>')
	if a < 0 || b < a {
		return ""
	}
	return l[a+1 : b]
}

// TestScanMatchesSipgo: for every captured SUBSCRIBE and the edits above,
// from every kind of source, the scanner's answer is the one sipgo's
// parse gives: the same reply bytes, destination, Discovery and drop
// reason; and the scanner reads every capture and every edit meant for it
// itself.
func TestScanMatchesSipgo(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "subscribe", "*.sip"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no captures: %v", err)
	}
	counts := map[string]int{}
	for _, file := range files {
		capture, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range scanEdits {
			data := []byte(e.edit(string(capture)))
			if e.name != "as captured" && bytes.Equal(data, capture) {
				continue // the capture lacks what the edit changes
			}
			for _, pkt := range replyPackets() {
				for _, server := range []string{"pnpbox", ""} {
					scanned, diff := compareScan(data, pkt, server)
					if diff != "" {
						t.Fatalf("%s, %s, from %v: %s\n%s", filepath.Base(file), e.name, pkt.Source, diff, data)
					}
					if scanned != e.fast {
						t.Fatalf("%s, %s: scanner read it %v, want %v\n%s", filepath.Base(file), e.name, scanned, e.fast, data)
					}
				}
			}
			out := sipgoOutcome(data, replyPackets()[0], "x")
			switch {
			case out.d != nil:
				counts["discovery"]++
			case out.reply != nil:
				counts["489"]++
			default:
				counts[out.reason]++
			}
		}
	}
	// Every outcome is reached, so the comparison covers each.
	for _, k := range []string{"discovery", "489", DropNoMAC, DropBadMAC, DropUnparsable} {
		if counts[k] == 0 {
			t.Errorf("no edit reached %q: %v", k, counts)
		}
	}
}

// TestScanVariantsOfReplyTests: the edits the reply tests use, too.
func TestScanVariantsOfReplyTests(t *testing.T) {
	for i, data := range replyVariants(t) {
		// A quoted header parameter (a="b c") sipgo reads in a way of its
		// own: the scanner leaves it to sipgo.
		quoted := bytes.Contains(data, []byte(`a="b c"`))
		for _, pkt := range replyPackets() {
			scanned, diff := compareScan(data, pkt, "pnpbox")
			if diff != "" {
				t.Fatalf("variant %d from %v: %s\n%s", i, pkt.Source, diff, data)
			}
			if scanned == quoted {
				t.Fatalf("variant %d: scanner read it %v\n%s", i, scanned, data)
			}
		}
	}
}

// tortureMessages are RFC 4475's messages, byte-exact, as sipgo's module
// ships them (sip/testdata/torture/{valid,invalid}), in the module cache.
func tortureMessages(t testing.TB) map[string][]byte {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/emiago/sipgo").Output()
	if err != nil {
		t.Fatalf("sipgo's module (for RFC 4475's messages): %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "sip", "testdata", "torture")
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*.dat"))
	if len(files) < 49 {
		t.Fatalf("%d RFC 4475 messages in %s, want 49 or more (go mod download github.com/emiago/sipgo)", len(files), dir)
	}
	msgs := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		msgs[filepath.Base(filepath.Dir(f))+"/"+filepath.Base(f)] = b
	}
	return msgs
}

// asSubscribe turns any request into a PnP SUBSCRIBE with the rest of its
// oddities kept: method SUBSCRIBE in the request line and CSeq, an Event:
// ua-profile header.
func asSubscribe(b []byte) []byte {
	s := string(b)
	sp := strings.IndexByte(s, ' ')
	if sp < 0 {
		return b
	}
	s = "SUBSCRIBE" + s[sp:]
	if i := strings.Index(s, "\r\n"); i >= 0 {
		s = s[:i+2] + "Event: ua-profile;vendor=\"t\";model=m\r\n" + s[i+2:]
	}
	for _, m := range []string{"INVITE", "OPTIONS", "REGISTER", "BYE", "ACK", "NEWMETHOD", "CANCEL", "NOTIFY"} {
		s = strings.ReplaceAll(s, " "+m+"\r\n", " SUBSCRIBE\r\n")
	}
	return []byte(s)
}

// TestScanTorture: RFC 4475's messages, as they are and made into
// SUBSCRIBEs, get the answer sipgo's parse gives.
func TestScanTorture(t *testing.T) {
	fast := 0
	for name, b := range tortureMessages(t) {
		for _, data := range [][]byte{b, asSubscribe(b)} {
			for _, pkt := range replyPackets() {
				scanned, diff := compareScan(data, pkt, "pnpbox")
				if diff != "" {
					t.Fatalf("%s from %v: %s\n%s", name, pkt.Source, diff, data)
				}
				if scanned {
					fast++
				}
			}
		}
	}
	t.Logf("scanner read %d of the answers itself", fast)
	if fast == 0 {
		t.Error("the scanner read none of the torture messages: the comparison compared nothing")
	}
}

// scanEdit is one change to a captured SUBSCRIBE.
type scanEdit struct {
	name string
	fast bool
	edit func(string) string
}

// TestScanDiscoveryOwnsItsStrings: the Discovery does not point into the
// datagram, whose buffer the read loop reuses.
func TestScanDiscoveryOwnsItsStrings(t *testing.T) {
	i := slices.IndexFunc(scanEdits, func(e scanEdit) bool { return e.name == "re-SUBSCRIBE with a To-tag" })
	if i < 0 {
		t.Fatal("no edit adds a To-tag")
	}
	data := []byte(scanEdits[i].edit(string(mustRead(t, "grandstream_gxp2140.sip")))) // LocalTag is the phone's
	_, _, d, _, ok := appendScannedAnswer(nil, data, pktFrom("172.18.0.77:5060"), testKey, "x")
	if !ok || d == nil {
		t.Fatal("no discovery")
	}
	before := fmt.Sprintf("%+v", *d)
	for i := range data {
		data[i] = 'X'
	}
	if after := fmt.Sprintf("%+v", *d); after != before {
		t.Fatalf("the discovery changed with the buffer:\nbefore %s\nafter  %s", before, after)
	}
}

// FuzzScanAnswer compares the scanner's answer with sipgo's parse and
// Answer on arbitrary datagrams, from an IPv4 or IPv6 source.
func FuzzScanAnswer(f *testing.F) {
	for _, file := range []string{"grandstream_gxp2140.sip", "panasonic_vender_compact.sip", "snom_m700.sip", "audiocodes_420hd.sip"} {
		b := mustRead(f, file)
		for _, e := range scanEdits {
			f.Add([]byte(e.edit(string(b))), false, uint16(5060))
		}
	}
	for _, b := range tortureMessages(f) {
		f.Add(asSubscribe(b), true, uint16(5062))
	}
	f.Fuzz(func(t *testing.T, data []byte, v6 bool, port uint16) {
		if len(data) > MaxDatagram {
			return
		}
		pkt := Packet{Source: netip.AddrPortFrom(netip.MustParseAddr("192.0.2.9"), port), Local: netip.MustParseAddr("192.0.2.1"), LocalPort: 5060, Interface: "eth0"}
		if v6 {
			pkt = Packet{Source: netip.AddrPortFrom(netip.MustParseAddr("2001:db8::9"), port), Local: netip.MustParseAddr("2001:db8::1"), LocalPort: int(port)}
		}
		if _, diff := compareScan(data, pkt, "x"); diff != "" {
			t.Fatalf("%s\n%q", diff, data)
		}
	})
}

// FuzzEventInfo: eventInfo reads the package, vendor, model and version
// parseEvent reads.
func FuzzEventInfo(f *testing.F) {
	f.Add(`ua-profile;profile-type="device";vendor="Grandstream";model="GXP2140";version="1.0.11.3"`)
	f.Add(`ua-profile;VENDER=a;vendor=b;Model="x\"y";version;model=z`)
	f.Add("ua-profile;vers\u0130on=1;\u212aey=2")
	f.Fuzz(func(t *testing.T, v string) {
		pkg, params := parseEvent(v)
		gpkg, vendor, model, version := eventInfo(v)
		got := [4]string{gpkg, clean(vendor, 64), clean(model, 64), clean(version, 64)}
		want := [4]string{pkg, params["vendor"], params["model"], params["version"]}
		if got != want {
			t.Fatalf("%q: got %q, want %q", v, got, want)
		}
	})
}

// FuzzMACFromUserView: macFromUserView finds the MAC macFromUser finds,
// and fails where it fails, in the same way (no MAC, or a bad one).
func FuzzMACFromUserView(f *testing.F) {
	for _, s := range []string{"MAC%3A000B82123456", "mac%3d000b82123456", "MAC%3A000B8212345", "MAC%3A%30%30%30B82123456",
		"MAC%3B000B82123456", "MAC%3A000B82123456%", "MA%43%3A000B82123456", "MAC%3A000B82 23456"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, u string) {
		m1, err1 := macFromUser(u)
		m2, err2 := macFromUserView(u)
		if m1 != m2 || (err1 == nil) != (err2 == nil) || (err1 == errNoMAC) != (err2 == errNoMAC) {
			t.Fatalf("%q: view %v, %v; macFromUser %v, %v", u, m2, err2, m1, err1)
		}
	})
}

// TestHandleCounts: the read loop counts and drops what it did before the
// scanner: a SUBSCRIBE sipgo cannot parse is unparsable and no SUBSCRIBE,
// one without a Via is a SUBSCRIBE and unparsable, a status line sipgo
// reads as a request is a request that is no SUBSCRIBE.
func TestHandleCounts(t *testing.T) {
	sub := string(mustRead(t, "grandstream_gxp2140.sip"))
	tests := []struct {
		name       string
		data       string
		subscribes uint64
		answered   uint64
		drop       string
	}{
		{"a phone", sub, 1, 1, ""},
		{"bare LF", strings.ReplaceAll(sub, "\r\n", "\n"), 0, 0, DropUnparsable},
		{"no Via", replaceHeader(sub, "Via", "X: 1"), 1, 0, DropUnparsable},
		{"no MAC", strings.ReplaceAll(sub, "MAC%3A000B82273B89", "x"), 1, 0, DropNoMAC},
		{"a status line read as a request", "SIP/2.0 sip:x@y SIPx\r\nVia: SIP/2.0/UDP a;branch=1\r\n\r\n", 1, 0, DropNotSub},
		{"a response to nothing", "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;branch=z9hG4bKx\r\nCSeq: 1 NOTIFY\r\n\r\n", 0, 0, DropUnmatched},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, err := Listen(Config{PerSourceRate: Unlimited})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			srv.ifaces.Store(&[]Interface{{Name: "lo", Index: 1, Prefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/8")}}})
			srv.handle([]byte(tt.data), netip.MustParseAddrPort("127.0.0.9:9"), 1, netip.MustParseAddr("127.0.0.1"), false)
			st := srv.Stats()
			if st.Subscribes != tt.subscribes || st.Answered != tt.answered {
				t.Errorf("subscribes %d, answered %d; want %d, %d", st.Subscribes, st.Answered, tt.subscribes, tt.answered)
			}
			for reason, n := range st.Dropped {
				if want := map[bool]uint64{true: 1}[reason == tt.drop]; n != want {
					t.Errorf("dropped %s %d times, want %d", reason, n, want)
				}
			}
			if tt.drop != "" && st.Dropped[tt.drop] != 1 {
				t.Errorf("dropped %v, want one %s", st.Dropped, tt.drop)
			}
		})
	}
}
