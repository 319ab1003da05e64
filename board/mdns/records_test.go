package mdns

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"
)

func rrStrings(rrs []dns.RR) []string {
	var out []string
	for _, rr := range rrs {
		out = append(out, rr.String())
	}
	return out
}

func TestRecords(t *testing.T) {
	r := New(Config{Hostname: "pnpbox-3a4f", Iface: "eth0", Port: 80})
	r.SetAddrs([]netip.Addr{netip.MustParseAddr("192.0.2.7"), netip.MustParseAddr("::1"), netip.MustParseAddr("192.0.2.7")})
	a := "pnpbox-3a4f.local.\t120\tCLASS32769\tA\t192.0.2.7"
	ptr := "_http._tcp.local.\t4500\tIN\tPTR\tpnpbox-3a4f._http._tcp.local."
	srv := "pnpbox-3a4f._http._tcp.local.\t120\tCLASS32769\tSRV\t0 0 80 pnpbox-3a4f.local."
	txt := "pnpbox-3a4f._http._tcp.local.\t4500\tCLASS32769\tTXT\t\"path=/\""
	for _, tc := range []struct {
		name  string
		qtype uint16
		class uint16
		want  []string
	}{
		{"pnpbox-3a4f.local.", dns.TypeA, dns.ClassINET, []string{a}},
		{"PNPBOX-3A4F.local.", dns.TypeA, dns.ClassINET | 1<<15, []string{a}}, // any case; the QU bit
		{"pnpbox-3a4f.local.", dns.TypeAAAA, dns.ClassINET, nil},
		{"pnpbox-3a4f.local.", dns.TypeA, dns.ClassCHAOS, nil},
		{"_http._tcp.local.", dns.TypePTR, dns.ClassINET, []string{ptr, srv, txt, a}},
		{"pnpbox-3a4f._http._tcp.local.", dns.TypeANY, dns.ClassINET, []string{srv, txt, a}},
		{"pnpbox-3a4f._http._tcp.local.", dns.TypeSRV, dns.ClassINET, []string{srv, a}},
		{"_services._dns-sd._udp.local.", dns.TypePTR, dns.ClassINET, []string{"_services._dns-sd._udp.local.\t4500\tIN\tPTR\t_http._tcp.local."}},
		{"pnpbox-0000.local.", dns.TypeA, dns.ClassINET, nil},
	} {
		got := rrStrings(r.Records(dns.Question{Name: tc.name, Qtype: tc.qtype, Qclass: tc.class}))
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s %s: (-want +got)\n%s", tc.name, dns.TypeToString[tc.qtype], diff)
		}
	}
	if got := r.Name(); got != "pnpbox-3a4f.local" {
		t.Errorf("Name() = %q", got)
	}
}

// Without an address the name has no A record, and an announcement
// would carry none: Run does not send one then.
func TestNoAddress(t *testing.T) {
	r := New(Config{Hostname: "pnpbox-3a4f", Iface: "eth0", Port: 80})
	if got := r.Records(dns.Question{Name: "pnpbox-3a4f.local.", Qtype: dns.TypeA, Qclass: dns.ClassINET}); len(got) != 0 {
		t.Errorf("A records without an address: %v", got)
	}
}
