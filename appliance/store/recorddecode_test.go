package store

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/pnpbox/pnpbox/appliance"
)

// phoneRecords are phone records as the store writes them, and near
// misses the fast path must hand to json/v2.
func phoneRecords(t testing.TB) [][]byte {
	now := time.Date(2026, 11, 30, 8, 0, 0, 123456789, time.UTC)
	m := appliance.MAC{0x00, 0x0b, 0x82, 0xab, 0xcd, 0xef}
	ip := netip.MustParseAddr("198.18.1.2")
	full := appliance.Phone{MAC: m, Vendor: "Grandstream", Model: "GXP2140", Firmware: "1.0.11.23", UserAgent: "Grandstream GXP2140 1.0.11.23 «ü»",
		IP: ip, SIPPort: 5060, Source: netip.AddrPortFrom(ip, 5062), Interface: "lan0", Multicast: true,
		State: appliance.StateProvisioned, FirstSeen: now, LastSeen: now.Add(time.Minute), Token: "tok", AdminPassword: "pw\"\\<>&\u2028",
		Dialog: &appliance.Dialog{CallID: "c@h", RemoteURI: "<sip:MAC%3A000B82ABCDEF@224.0.1.75>;tag=1", LocalURI: "<sip:a@b>", LocalTag: "t", RemoteTarget: "<sip:198.18.1.2:5060>",
			RemoteAddr: netip.AddrPortFrom(ip, 5060), LocalAddr: netip.MustParseAddr("198.18.0.1"), Interface: "lan0", LocalCSeq: 4294967295},
		LastNotify:   &appliance.NotifyOutcome{Time: now, Result: appliance.NotifyRefused, Code: 488, Detail: "Not Acceptable Here"},
		Downloads:    3,
		LastDownload: &appliance.Download{Time: now.Truncate(time.Second), IP: ip, UserAgent: "UA", File: "cfg.xml", SHA256: "ab"},
		NotifiedAt:   now.Add(time.Millisecond)}
	displaced := full
	displaced.Displaced = &appliance.Displacement{By: m, Addr: ip, Time: now}
	v6 := full
	v6.IP, v6.Source = netip.MustParseAddr("fe80::1%lan0"), netip.MustParseAddrPort("[2001:db8::1]:5060")
	var out [][]byte
	for _, p := range []appliance.Phone{full, displaced, v6, {MAC: m, State: appliance.StateAssigned, Token: "t2"}} {
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	for _, s := range []string{
		`{"mac":"000B82ABCDEF","state":"assigned","token":"t","downloads":1}`,
		`{"mac":"000B82ABCDEF","mac":"000B82ABCDEF","token":"t"}`,                    // repeated name
		`{"mac":"000B82ABCDEF","token":"t","unknown":1}`,                             // unknown name
		`{"mac":"000B82ABCDEF","dialog":null}`,                                       // null
		` {"mac":"000B82ABCDEF"}`,                                                    // whitespace
		`{"mac":"000B82ABCDEF","downloads":1.0}`,                                     // not an integer
		`{"mac":"000B82ABCDEF","downloads":01}`,                                      // leading zero
		`{"mac":"000B82ABCDEF","sip_port":-5}`,                                       //
		`{"mac":"000B82ABCDEF","dialog":{"notify_cseq":-1}}`,                         // negative unsigned
		`{"mac":"000B82ABCDEF","dialog":{"notify_cseq":4294967296}}`,                 // overflow
		`{"mac":"000B82ABCDEF","first_seen":"2026-11-30T8:00:00Z"}`,                  // one-digit hour
		`{"mac":"000B82ABCDEF","first_seen":"2026-11-30T08:00:00,5Z"}`,               // comma
		`{"mac":"000B82ABCDEF","first_seen":"2026-11-30T08:00:00+01:00"}`,            // offset
		`{"mac":"000B82ABCDEF","first_seen":"2026-11-30T24:00:00Z"}`,                 // hour 24
		`{"mac":"000B82ABCDEF","vendor":"\u00e9\ud83d\ude00"}`,                       // escapes
		`{"mac":"000B82ABCDEF","vendor":"\ud800"}`,                                   // lone surrogate
		"{\"mac\":\"000B82ABCDEF\",\"vendor\":\"\xff\"}",                             // invalid UTF-8
		"{\"mac\":\"000B82ABCDEF\",\"vendor\":\"a\tb\"}",                             // control character
		`{"mac":"000B82ABCDEF","multicast":tru}`,                                     //
		`{"mac":"000B82ABCDEF","ip":""}`,                                             //
		`{"mac":"000B82ABCDEF","ip":"198.18.0.256"}`,                                 //
		`{"mac":"","token":"t"}`,                                                     //
		`{"mac":"000B82ABCDEF"}x`,                                                    // trailing bytes
		`{"mac":"000B82ABCDEF",}`,                                                    //
		`{"mac":"000B82ABCDEF","last_download":{"time":"2026-11-30T08:00:00.Z"}}`,    //
		`{"mac":"000B82ABCDEF","notify":{"time":"2026-11-30T08:00:00.123456789Z"}}`,  //
		`{"mac":"000B82ABCDEF","notify":{"time":"2026-11-30T08:00:00.1234567891Z"}}`, //
		`{"mac":"000B82ABCDEF","first_seen":"2024-02-29T23:59:59.000000001Z"}`,       // leap day
		`{"mac":"000B82ABCDEF","first_seen":"2026-02-29T00:00:00Z"}`,                 // not a leap year
		`{"mac":"000B82ABCDEF","first_seen":"2026-11-31T00:00:00Z"}`,                 //
		`{"mac":"000B82ABCDEF","first_seen":"2026-13-01T00:00:00Z"}`,                 //
		`{"mac":"000B82ABCDEF","first_seen":"2026-11-30T23:60:00Z"}`,                 //
		`{"mac":"000B82ABCDEF","first_seen":"2026-11-30T23:59:60Z"}`,                 // leap second
		`{"mac":"000B82ABCDEF","first_seen":"0000-01-01T00:00:00.5Z"}`,               //
		`{"mac":"000B82ABCDEF","first_seen":"2026-11-30t08:00:00z"}`,                 //
		`{"mac":"000B82ABCDEF","first_seen":"2026-11-30T08:00:00.-1Z"}`,              //
		`{"MAC":"000B82ABCDEF"}`,                                                     // another case
	} {
		out = append(out, []byte(s))
	}
	return out
}

// decodeBoth decodes b with a fast decoder and with json/v2 alone and
// fails t when they differ in error or in value.
func decodeBoth[T any](t *testing.T, b []byte, fast func([]byte, *T, interner) error) {
	t.Helper()
	var got, want T
	errFast := fast(b, &got, interner{})
	errV2 := decodeRecord(b, &want)
	if (errFast == nil) != (errV2 == nil) {
		t.Fatalf("%s: fast decoder: %v, json/v2: %v", b, errFast, errV2)
	}
	if errV2 != nil {
		return
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateComparable(netip.Addr{}, netip.AddrPort{})); diff != "" {
		t.Fatalf("%s (-json/v2 +fast decoder):\n%s", b, diff)
	}
}

// assignmentRecords and eventRecords are as phoneRecords.
func assignmentRecords(t testing.TB) [][]byte {
	var out [][]byte
	for _, a := range []appliance.Assignment{
		{Extension: "201", Password: "p\u00e9\"", DisplayName: "Desk <1>", AuthID: "a", SIPServer: "pbx:5060", Codecs: []string{"G722", "PCMU"},
			Keys:     []appliance.Key{{Type: "blf", Value: "202", Label: "Bob", Account: 2}, {Type: "speed_dial", Value: "100"}},
			Accounts: []appliance.Account{{Extension: "301", Password: "q", DisplayName: "Line 2", AuthID: "b", SIPServer: "s"}},
			Model:    "GXP2160", NotifyURLForm: "folder"},
		{Extension: "202", PValues: map[string]string{"P1": "x"}},
		{Extension: "203"},
	} {
		b, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	for _, s := range []string{
		`{"extension":"1","codecs":[]}`,
		`{"extension":"1","codecs":null}`,
		`{"extension":"1","codecs":["a",]}`,
		`{"extension":"1","codecs":["a" ]}`,
		`{"extension":"1","keys":[{"type":"blf","account":1.5}]}`,
		`{"extension":"1","keys":[{"type":"blf","type":"x"}]}`,
		`{"extension":"1","accounts":[{}]}`,
		`{"extension":"1","keys":[1]}`,
	} {
		out = append(out, []byte(s))
	}
	return out
}

func eventRecords(t testing.TB) [][]byte {
	now := time.Date(2026, 11, 30, 8, 0, 0, 5000, time.UTC)
	var out [][]byte
	for _, e := range []appliance.Event{
		{Seq: 1<<64 - 1, Time: now, MAC: appliance.MAC{0, 0x0b, 0x82, 1, 2, 3}, Kind: appliance.EventDownload, Detail: `"cfg.xml" to 198.18.1.2 <x> & y`},
		{Seq: 0, Time: now, Kind: appliance.EventError},
		{Seq: 7, Time: now, MAC: appliance.MAC{0, 0x0b, 0x82, 1, 2, 3}, Kind: appliance.EventDownload, Detail: "d", Count: 1200},
	} {
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	for _, s := range []string{
		`{"seq":-1,"time":"2026-11-30T08:00:00Z","kind":"x"}`,
		`{"seq":18446744073709551616,"time":"2026-11-30T08:00:00Z","kind":"x"}`,
		`{"seq":1,"time":"2026-11-30T08:00:00Z","kind":"x","mac":"zz"}`,
		`{"seq":1,"time":"2026-11-30T08:00:00Z","kind":"x","mac":""}`,
		`{"seq":1,"time":"2026-11-30T08:00:00Z","kind":"x","count":-3}`,
		`{"seq":1,"time":"2026-11-30T08:00:00Z","kind":"x","count":2.5}`,
	} {
		out = append(out, []byte(s))
	}
	return out
}

// TestFastDecodersAgree: the fast paths read every record as json/v2
// does, and the store's own records do take them (else a fast path is
// dead code and a start as slow as before).
func TestFastDecodersAgree(t *testing.T) {
	phones, assigns, events := phoneRecords(t), assignmentRecords(t), eventRecords(t)
	for _, b := range phones {
		decodeBoth(t, b, decodePhone)
	}
	for _, b := range assigns {
		decodeBoth(t, b, decodeAssignment)
	}
	for _, b := range events {
		decodeBoth(t, b, decodeEvent)
		if got, want := checkEvent(b), decodeRecord(b, &appliance.Event{}); (got == nil) != (want == nil) {
			t.Errorf("%s: checkEvent: %v, json/v2: %v", b, got, want)
		}
	}
	tests := []struct {
		rec  []byte
		read func(*fastDecoder) bool
		fast bool
	}{
		{phones[0], func(d *fastDecoder) bool { return d.phone(&appliance.Phone{}) }, true},
		{phones[1], func(d *fastDecoder) bool { return d.phone(&appliance.Phone{}) }, false}, // displaced: json/v2's
		{phones[2], func(d *fastDecoder) bool { return d.phone(&appliance.Phone{}) }, true},
		{phones[3], func(d *fastDecoder) bool { return d.phone(&appliance.Phone{}) }, true},
		{assigns[0], func(d *fastDecoder) bool { return d.assignment(&appliance.Assignment{}) }, true},
		{assigns[1], func(d *fastDecoder) bool { return d.assignment(&appliance.Assignment{}) }, false}, // p_values: json/v2's
		{assigns[2], func(d *fastDecoder) bool { return d.assignment(&appliance.Assignment{}) }, true},
		{events[0], func(d *fastDecoder) bool { return d.event(&appliance.Event{}) }, true},
		{events[1], func(d *fastDecoder) bool { return d.event(&appliance.Event{}) }, true},
	}
	for _, tt := range tests {
		d := &fastDecoder{b: tt.rec}
		if got := tt.read(d) && d.i == len(tt.rec); got != tt.fast {
			t.Errorf("%s: fast path %v, want %v", tt.rec, got, tt.fast)
		}
	}
}

// FuzzDecodePhone: whatever the bytes, decodePhone answers as json/v2.
func FuzzDecodePhone(f *testing.F) {
	for _, b := range phoneRecords(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) { decodeBoth(t, b, decodePhone) })
}

// FuzzDecodeAssignment: whatever the bytes, decodeAssignment answers as
// json/v2.
func FuzzDecodeAssignment(f *testing.F) {
	for _, b := range assignmentRecords(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) { decodeBoth(t, b, decodeAssignment) })
}

// FuzzDecodeEvent: whatever the bytes, decodeEvent and checkEvent answer
// as json/v2.
func FuzzDecodeEvent(f *testing.F) {
	for _, b := range eventRecords(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		decodeBoth(t, b, decodeEvent)
		if got, want := checkEvent(b), decodeRecord(b, &appliance.Event{}); (got == nil) != (want == nil) {
			t.Fatalf("%s: checkEvent: %v, json/v2: %v", b, got, want)
		}
	})
}

// TestFastTimesAgree runs the timestamp reader over every month and day
// number around the valid ranges (leap years included) and some times of
// day, against json/v2.
func TestFastTimesAgree(t *testing.T) {
	clocks := []string{"00:00:00", "23:59:59", "24:00:00", "12:60:00", "12:00:60", "08:00:00.1", "08:00:00.123456789", "08:00:00.1234567890"}
	for _, year := range []int{0, 1900, 2000, 2024, 2026, 9999} {
		for month := 0; month <= 13; month++ {
			for day := 0; day <= 32; day++ {
				for _, clock := range clocks {
					b := fmt.Appendf(nil, `{"mac":"000B82ABCDEF","last_seen":"%04d-%02d-%02dT%sZ"}`, year, month, day, clock)
					decodeBoth(t, b, decodePhone)
				}
			}
		}
	}
}
