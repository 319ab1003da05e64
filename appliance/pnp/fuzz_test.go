package pnp

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// FuzzAnswer feeds arbitrary datagrams through the parser and the SUBSCRIBE
// core. Invariants: no panic; a discovery always comes with a 200 that
// parses back and a valid MAC; nothing but a SUBSCRIBE is ever answered.
func FuzzAnswer(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "subscribe", "*.sip"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("SUBSCRIBE sip:MAC%3A@x SIP/2.0\r\nVia: SIP/2.0/UDP a\r\n\r\n"))
	pkt := Packet{Source: netip.MustParseAddrPort("192.0.2.9:5060"), Local: netip.MustParseAddr("192.0.2.1"), LocalPort: 5060}
	parser := sip.NewParser()
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > MaxDatagram {
			return
		}
		msg, err := parser.ParseSIP(data)
		if err != nil {
			return
		}
		req, ok := msg.(*sip.Request)
		if !ok {
			return
		}
		reply, _, d, reason := Answer(req, pkt, testKey, "x")
		if req.Method != sip.SUBSCRIBE && (reply != nil || reason != DropNotSub) {
			t.Fatalf("answered a %s", req.Method)
		}
		if d == nil {
			return
		}
		if reason != "" || d.MAC.IsZero() || d.MAC[0]&1 != 0 {
			t.Fatalf("discovery %+v with reason %q", d, reason)
		}
		res, err := sip.NewParser().ParseSIP(reply)
		if err != nil {
			t.Fatalf("our 200 does not parse: %v\n%q", err, reply)
		}
		if r, ok := res.(*sip.Response); !ok || r.StatusCode != 200 {
			t.Fatalf("reply is not a 200: %q", reply)
		}
	})
}
