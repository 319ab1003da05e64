package main

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/google/go-cmp/cmp"

	"github.com/pnpbox/pnpbox/appliance"
)

// capture is the GRP2612W SUBSCRIBE of reference/grandstream-pnp.md §3.1,
// with the CRLF line ends it has on the wire.
func capture(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/grp2612w-subscribe.txt")
	if err != nil {
		t.Fatal(err)
	}
	return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))
}

// headerNames lists a message's header names in order.
func headerNames(msg []byte) []string {
	head, _, _ := strings.Cut(string(msg), "\r\n\r\n")
	var names []string
	for _, line := range strings.Split(head, "\r\n")[1:] {
		name, _, _ := strings.Cut(line, ":")
		names = append(names, name)
	}
	return names
}

// Given the captured phone's own values, the SUBSCRIBE we write is the
// capture, byte for byte.
func TestSubscribeIsTheCapture(t *testing.T) {
	mac, err := appliance.ParseMAC("C074AD112233")
	if err != nil {
		t.Fatal(err)
	}
	got := subscribeRequest{
		mac:      mac,
		model:    "GRP2612W",
		firmware: "1.0.5.67",
		local:    netip.MustParseAddrPort("192.168.1.2:5080"),
		callID:   "490431573-5080-1@BJC.BGI.IG.DA",
		tag:      "395400190",
		branch:   "z9hG4bK1611133778",
		cseq:     20000,
	}.marshal()
	if diff := cmp.Diff(string(capture(t)), string(got)); diff != "" {
		t.Errorf("SUBSCRIBE differs from the GRP2612W capture (-want +got):\n%s", diff)
	}
}

func TestCallIDHost(t *testing.T) {
	// The capture's Call-ID host decodes to the address the author's phone
	// had before the Via was edited to 192.168.1.2.
	if got := callIDHost(netip.MustParseAddr("192.168.86.30")); got != "BJC.BGI.IG.DA" {
		t.Errorf("callIDHost = %q, want BJC.BGI.IG.DA", got)
	}
}

func testOptions(t *testing.T, b *fakeBox, firstIP string, n int) *options {
	t.Helper()
	o := &options{n: n, firstIP: netip.MustParseAddr(firstIP), target: b.addr(),
		models: []string{"GXP2130", "GXP2140", "GXP2160"}, firmware: "1.0.11.3", tries: 5,
		interval: time.Second, seed: 7, reboot: 10 * time.Millisecond, linger: 100 * time.Millisecond,
		timeout: 30 * time.Second, httpTimeout: 5 * time.Second}
	a := o.firstIP.As4()
	o.firstMAC = appliance.MAC{0x00, 0x0b, 0x82, a[1], a[2], a[3]}
	return o
}

// testPhone is one phone of a fleet bound on loopback, reading its socket.
func testPhone(t *testing.T, o *options) *phone {
	t.Helper()
	f, err := newFleet(o, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	p := f.phones[0]
	done := make(chan struct{})
	go func() {
		p.readLoop()
		close(done)
	}()
	t.Cleanup(func() {
		f.close()
		<-done
	})
	return p
}

func TestSubscribeRetries(t *testing.T) {
	const silent = 0
	for _, tc := range []struct {
		name    string
		answers []int // the box's answer to try n; the last one repeats
		newTx   bool
		loss    float64
		want    subscribeResult // tries, status, ok, okTry, lost compared
	}{
		{name: "200 at once", answers: []int{200}, want: subscribeResult{tries: 1, status: 200, ok: true, okTry: 1}},
		{name: "404s then 200", answers: []int{404, 404, 200}, want: subscribeResult{tries: 3, status: 200, ok: true, okTry: 3}},
		{name: "302 then 200", answers: []int{302, 200}, want: subscribeResult{tries: 2, status: 200, ok: true, okTry: 2}},
		{name: "500 stops", answers: []int{500}, want: subscribeResult{tries: 1, status: 500}},
		{name: "404 then 500 stops", answers: []int{404, 500}, want: subscribeResult{tries: 2, status: 500}},
		{name: "404 forever", answers: []int{404}, want: subscribeResult{tries: 5, status: 404}},
		{name: "silence", answers: []int{silent}, want: subscribeResult{tries: 5}},
		{name: "new transaction per try", answers: []int{404, 200}, newTx: true, want: subscribeResult{tries: 2, status: 200, ok: true, okTry: 2}},
		{name: "every response lost", answers: []int{200}, loss: 1, want: subscribeResult{tries: 5, lost: 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := newFakeBox(t)
			b.answer = func(n int) int { return tc.answers[min(n, len(tc.answers))-1] }
			b.start()
			o := testOptions(t, b, "127.0.0.1", 1)
			o.port = 0
			// Long enough for a loopback answer on a loaded machine, short
			// enough to keep five tries quick.
			o.interval = 500 * time.Millisecond
			o.newTx, o.loss = tc.newTx, tc.loss
			p := testPhone(t, o)

			got := p.subscribe(t.Context())
			if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b subscribeResult) bool {
				return a.tries == b.tries && a.status == b.status && a.ok == b.ok && a.okTry == b.okTry && a.lost == b.lost
			})); diff != "" {
				t.Errorf("subscribe (-want +got):\n%s", diff)
			}

			// The box saw every try; they are one transaction retransmitted
			// unless -new-tx, which makes a new CSeq and branch for each.
			var first *sip.Request
			for i := range got.tries {
				r := next(t, b.subscribes, "SUBSCRIBE")
				if i == 0 {
					first = r.req
					continue
				}
				if r.req.CallID().Value() != first.CallID().Value() {
					t.Errorf("try %d: Call-ID %q, want %q", i+1, r.req.CallID().Value(), first.CallID().Value())
				}
				sameTx := r.req.CSeq().SeqNo == first.CSeq().SeqNo && branchOf(r.req) == branchOf(first)
				newTx := r.req.CSeq().SeqNo == first.CSeq().SeqNo+uint32(i) && branchOf(r.req) != branchOf(first)
				if !tc.newTx && !sameTx || tc.newTx && !newTx {
					t.Errorf("try %d: CSeq %d branch %s after CSeq %d branch %s (-new-tx %v)",
						i+1, r.req.CSeq().SeqNo, branchOf(r.req), first.CSeq().SeqNo, branchOf(first), tc.newTx)
				}
			}
		})
	}
}

func branchOf(req *sip.Request) string {
	b, _ := req.Via().Params.Get("branch")
	return b
}

// notifyText is a NOTIFY for the subscription with Call-ID "cid" and our
// From tag "ourtag", with lines replaced as the case needs.
func notifyText(replace map[string]string) string {
	lines := []string{
		"NOTIFY sip:127.0.0.1:5060 SIP/2.0",
		"Via: SIP/2.0/UDP 127.0.0.9:5060;branch=z9hG4bKbox1;rport",
		"From: <sip:MAC%3A000B82000001@224.0.1.75>;tag=boxtag",
		"To: <sip:MAC%3A000B82000001@224.0.1.75>;tag=ourtag",
		"Call-ID: cid",
		"CSeq: 1 NOTIFY",
		"Event: ua-profile",
		"Subscription-State: terminated;reason=timeout",
		"Content-Type: application/url",
	}
	var b strings.Builder
	for _, l := range lines {
		name, _, _ := strings.Cut(l, ":")
		if r, ok := replace[name]; ok {
			l = r
		}
		if l != "" {
			b.WriteString(l + "\r\n")
		}
	}
	const url = "http://127.0.0.9/p/tok/cfg000B82000001"
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(url), url)
	return b.String()
}

func parseRequest(t *testing.T, s string) *sip.Request {
	t.Helper()
	msg, err := sip.NewParser().ParseSIP([]byte(s))
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	req := msg.(*sip.Request)
	req.SetSource("127.0.0.9:5060")
	return req
}

func TestNotifyAnswers(t *testing.T) {
	for _, tc := range []struct {
		name    string
		replace map[string]string
		want    int
		header  string // a header the answer must carry
	}{
		{name: "good", want: 200},
		{name: "compact Event", replace: map[string]string{"Event": "o: ua-profile;profile-type=\"device\""}, want: 200},
		{name: "media type in another case", replace: map[string]string{"Content-Type": "Content-Type: Application/URL"}, want: 200},
		{name: "wrong Event", replace: map[string]string{"Event": "Event: check-sync"}, want: 489, header: "Allow-Events: ua-profile"},
		{name: "no Event", replace: map[string]string{"Event": ""}, want: 489},
		{name: "ua-profile as a parameter only", replace: map[string]string{"Event": "Event: dialog;ua-profile"}, want: 489},
		{name: "wrong Content-Type", replace: map[string]string{"Content-Type": "Content-Type: text/plain"}, want: 415, header: "Accept: application/url"},
		{name: "no Content-Type", replace: map[string]string{"Content-Type": ""}, want: 415},
		{name: "unknown Call-ID", replace: map[string]string{"Call-ID": "Call-ID: someone-else"}, want: 481},
		{name: "wrong To tag", replace: map[string]string{"To": "To: <sip:MAC%3A000B82000001@224.0.1.75>;tag=other"}, want: 481},
		{name: "no To tag", replace: map[string]string{"To": "To: <sip:MAC%3A000B82000001@224.0.1.75>"}, want: 481},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newFakeBox(t)
			p := testPhone(t, testOptions(t, b, "127.0.0.1", 1))
			p.subs["cid"] = "ourtag"
			req := parseRequest(t, notifyText(tc.replace))

			a, ok := p.handleRequest(req, netip.MustParseAddrPort("127.0.0.9:5060"))
			if !ok {
				t.Fatal("NOTIFY not answered")
			}
			res := parseResponse(t, a.b)
			if res.StatusCode != tc.want {
				t.Fatalf("answered %d %s, want %d", res.StatusCode, res.Reason, tc.want)
			}
			if a.dst != netip.MustParseAddrPort("127.0.0.9:5060") {
				t.Errorf("answer goes to %s, want the NOTIFY's source 127.0.0.9:5060", a.dst)
			}
			// A proper response: Via, From, Call-ID, CSeq copied, To with a tag.
			for _, h := range []string{"Via", "From", "Call-ID", "CSeq"} {
				if got, want := res.GetHeader(h).Value(), req.GetHeader(h).Value(); !strings.HasPrefix(got, want) {
					t.Errorf("%s: %q, want a copy of %q", h, got, want)
				}
			}
			if tag, _ := res.To().Params.Get("tag"); tag == "" {
				t.Errorf("To %q has no tag", res.To().Value())
			}
			if tc.header != "" && !bytes.Contains(a.b, []byte(tc.header+"\r\n")) {
				t.Errorf("answer lacks %q:\n%s", tc.header, a.b)
			}
			r := p.result()
			if r.NotifyStatus != tc.want || !r.Notify {
				t.Errorf("report: notify %v status %d, want true %d", r.Notify, r.NotifyStatus, tc.want)
			}
			acted := len(p.notified) == 1
			if acted != (tc.want == 200) {
				t.Errorf("acted on the NOTIFY: %v, want %v", acted, tc.want == 200)
			}
		})
	}
}

// A retransmitted NOTIFY gets the same answer and is acted on once; a new
// NOTIFY transaction after that is counted as extra.
func TestNotifyRetransmission(t *testing.T) {
	b := newFakeBox(t)
	p := testPhone(t, testOptions(t, b, "127.0.0.1", 1))
	p.subs["cid"] = "ourtag"
	src := netip.MustParseAddrPort("127.0.0.9:5060")

	first, _ := p.handleRequest(parseRequest(t, notifyText(nil)), src)
	again, _ := p.handleRequest(parseRequest(t, notifyText(nil)), src)
	if !bytes.Equal(first.b, again.b) {
		t.Errorf("retransmission answered differently:\n%s\nthen\n%s", first.b, again.b)
	}
	if n := len(p.notified); n != 1 {
		t.Errorf("acted on %d NOTIFYs, want 1", n)
	}
	if r := p.result(); r.ExtraNotifies != 0 {
		t.Errorf("retransmission counted as %d extra NOTIFYs", r.ExtraNotifies)
	}

	p.handleRequest(parseRequest(t, notifyText(map[string]string{
		"Via":  "Via: SIP/2.0/UDP 127.0.0.9:5060;branch=z9hG4bKbox2;rport",
		"CSeq": "CSeq: 2 NOTIFY",
	})), src)
	if r := p.result(); r.ExtraNotifies != 1 || r.Provisioned || !strings.Contains(r.Error, "1 extra NOTIFY") {
		t.Errorf("after a second NOTIFY: extra %d, provisioned %v, error %q; want 1, false, a complaint",
			r.ExtraNotifies, r.Provisioned, r.Error)
	}
}

func parseResponse(t *testing.T, b []byte) *sip.Response {
	t.Helper()
	msg, err := sip.NewParser().ParseSIP(b)
	if err != nil {
		t.Fatalf("parse answer: %v\n%s", err, b)
	}
	res, ok := msg.(*sip.Response)
	if !ok {
		t.Fatalf("answer is not a response:\n%s", b)
	}
	return res
}
