package pnp

import (
	"testing"

	"github.com/emiago/sipgo/sip"
)

// BenchmarkAnswer is the per-SUBSCRIBE cost of the SIP side: parse the
// datagram and build the 200 OK and the Discovery.
func BenchmarkAnswer(b *testing.B) {
	data := mustRead(b, "grandstream_gxp2140.sip")
	pkt := pktFrom("172.18.0.77:5060")
	parser := sip.NewParser()
	b.ReportAllocs()
	for b.Loop() {
		msg, err := parser.ParseSIP(data)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, d, _ := Answer(msg.(*sip.Request), pkt, testKey, "pnpbox"); d == nil {
			b.Fatal("no discovery")
		}
	}
}

func BenchmarkBuildNotify(b *testing.B) {
	req := parseReq(b, mustRead(b, "grandstream_gxp2140.sip"))
	_, _, d, _ := Answer(req, pktFrom("172.18.0.77:5060"), testKey, "x")
	n := NotifyRequest{Dialog: d.Dialog, CSeq: 1, Branch: "z9hG4bK.bench", LocalPort: 5060,
		URL: "http://192.0.2.1:80/p/0123456789abcdef0123456789abcdef/cfg000B82273B89"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := BuildNotify(n); err != nil {
			b.Fatal(err)
		}
	}
}
