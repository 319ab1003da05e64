package profile

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pnpbox/pnpbox/appliance"
)

// decodeLegacy parses a legacy binary config (reference §1.3) and checks
// everything a phone could check: the length field, the checksum, the
// separator, the padding, the order of the P-values and the gnkey trailer.
// Values are unescaped the strict way ('+' is a plus, as PHP's
// rawurldecode and Python's unquote read it); decodeLegacyForm reads
// them as a form decoder would ('+' is a space).
func decodeLegacy(b []byte) (mac appliance.MAC, values map[string]string, err error) {
	return decodeLegacyWith(b, url.PathUnescape)
}

func decodeLegacyForm(b []byte) (mac appliance.MAC, values map[string]string, err error) {
	return decodeLegacyWith(b, url.QueryUnescape)
}

func decodeLegacyWith(b []byte, unescape func(string) (string, error)) (mac appliance.MAC, values map[string]string, err error) {
	if len(b) < 16 || len(b)%2 != 0 {
		return mac, nil, fmt.Errorf("length %d: want an even length of at least 16", len(b))
	}
	if words := binary.BigEndian.Uint32(b[0:4]); int(words)*2 != len(b) {
		return mac, nil, fmt.Errorf("length field says %d words, file has %d bytes", words, len(b))
	}
	var sum uint16
	for i := 0; i < len(b); i += 2 {
		sum += binary.BigEndian.Uint16(b[i:])
	}
	if sum != 0 {
		return mac, nil, fmt.Errorf("word sum is %#04x, want 0", sum)
	}
	copy(mac[:], b[6:12])
	if string(b[12:16]) != "\r\n\r\n" {
		return mac, nil, fmt.Errorf("header ends %q, want CRLF CRLF", b[12:16])
	}
	payload := string(b[16:])
	if len(payload)%16 != 0 {
		return mac, nil, fmt.Errorf("payload of %d bytes is not padded to a multiple of 16", len(payload))
	}
	trimmed := strings.TrimRight(payload, "\x00")
	if len(payload)-len(trimmed) >= 16 {
		return mac, nil, fmt.Errorf("%d bytes of padding, want fewer than 16", len(payload)-len(trimmed))
	}
	payload = trimmed
	pairs := strings.Split(payload, "&")
	if pairs[len(pairs)-1] != "gnkey=0b82" {
		return mac, nil, fmt.Errorf("payload ends %q, want gnkey=0b82", pairs[len(pairs)-1])
	}
	values = map[string]string{}
	last := -1
	for _, pair := range pairs[:len(pairs)-1] {
		name, v, ok := strings.Cut(pair, "=")
		if !ok {
			return mac, nil, fmt.Errorf("pair %q has no =", pair)
		}
		p, err := strconv.Atoi(strings.TrimPrefix(name, "P"))
		if err != nil || !strings.HasPrefix(name, "P") {
			return mac, nil, fmt.Errorf("name %q is not a P-value", name)
		}
		if p <= last {
			return mac, nil, fmt.Errorf("P%d after P%d", p, last)
		}
		last = p
		if values[name], err = unescape(v); err != nil {
			return mac, nil, fmt.Errorf("%s: %v", name, err)
		}
	}
	return mac, values, nil
}

// TestEncodeLegacyKnownAnswer pins the byte layout with a file computed by
// an independent implementation (a few lines of Python's struct module)
// from the reference's description: 17 payload bytes padded to 32.
func TestEncodeLegacyKnownAnswer(t *testing.T) {
	mac := mustMAC(t, "000b82123456")
	got := encodeLegacy(mac, "P271=1&gnkey=0b82")
	want, _ := hex.DecodeString("000000189f1a000b821234560d0a0d0a503237313d3126676e6b65793d30623832000000000000000000000000000000")
	if !bytes.Equal(got, want) {
		t.Errorf("encodeLegacy\n got %x\nwant %x", got, want)
	}
}

func TestRenderLegacyRoundTrip(t *testing.T) {
	for _, model := range []string{"GXP2130", "GXP2140", "GXP2160", ""} {
		t.Run(model, func(t *testing.T) {
			m, _, _ := resolveModel(model, appliance.Assignment{})
			a := appliance.Assignment{
				Extension: "201", Password: "p&w=d %+/?#", DisplayName: "Zoë & Co", Codecs: []string{"OPUS"},
				Accounts: extraAccounts(m.Accounts - 1), Keys: someKeys(m.Keys()),
			}
			in := input(t, model, a)
			b, err := RenderLegacy(in)
			if err != nil {
				t.Fatal(err)
			}
			mac, got, err := decodeLegacy(b)
			if err != nil {
				t.Fatal(err)
			}
			if mac != in.MAC {
				t.Errorf("MAC = %s, want %s", mac, in.MAC)
			}
			xmlBytes, err := Render(in)
			if err != nil {
				t.Fatal(err)
			}
			_, want := parse(t, xmlBytes)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("legacy values differ from the XML's (-want +got):\n%s", diff)
			}
			again, _ := RenderLegacy(in)
			if !bytes.Equal(again, b) {
				t.Error("a second RenderLegacy gave different bytes")
			}
		})
	}
}

// TestEncodeLegacyPadding checks the payload is padded with NUL to a
// multiple of 16 bytes (a multiple of the 2 and 4 other encoders use), and
// that the pad bytes count in the length and the checksum.
func TestEncodeLegacyPadding(t *testing.T) {
	mac := mustMAC(t, "000b82123456")
	for _, tc := range []struct {
		payload string
		size    int
	}{
		{"P3=x&gnkey=0b82", 16 + 16},  // 15 bytes + 1 NUL
		{"P3=xy&gnkey=0b82", 16 + 16}, // 16 bytes, no padding
		{"P3=xyz&gnkey=0b82", 16 + 32},
		{"P3=xyzxyzxyzxyzxy&gnkey=0b82", 16 + 32}, // 27 bytes + 5 NUL
	} {
		b := encodeLegacy(mac, tc.payload)
		if len(b) != tc.size {
			t.Errorf("%q: %d bytes, want %d", tc.payload, len(b), tc.size)
		}
		if _, _, err := decodeLegacy(b); err != nil {
			t.Errorf("%q: %v", tc.payload, err)
		}
	}
}

// TestLegacyChecksumCoversEveryByte changes each byte of a rendered file in
// turn: header, MAC and payload are all under the checksum, so a phone
// rejects any corruption.
func TestLegacyChecksumCoversEveryByte(t *testing.T) {
	b, err := RenderLegacy(input(t, "GXP2140", appliance.Assignment{Extension: "201"}))
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		bad := bytes.Clone(b)
		bad[i] ^= 0x5a
		if _, _, err := decodeLegacy(bad); err == nil {
			t.Fatalf("byte %d changed and the file still decodes", i)
		}
	}
}

// TestLegacyEscape pins which bytes are escaped: only what a decoder
// could misread. A space is %20, never "+".
func TestLegacyEscape(t *testing.T) {
	for in, want := range map[string]string{
		"Front Desk":           "Front%20Desk",
		"a+b":                  "a%2Bb",
		"p&w=d%":               "p%26w%3Dd%25",
		"sip:201@pbx/x?y#z*97": "sip:201@pbx/x?y#z*97",
		`"quoted" <x>`:         `"quoted"%20<x>`,
		"Zoë":                  "Zo%C3%AB",
		"tab\there":            "tab%09here",
		"":                     "",
		"~!$'()*,;[]^_`{|}-.":  "~!$'()*,;[]^_`{|}-.",
	} {
		if got := legacyEscape(in); got != want {
			t.Errorf("legacyEscape(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestLegacyDecodersAgree reads a file back with a strict decoder ('+' is
// a plus) and a form decoder ('+' is a space): both get every value of the
// XML config back, whatever bytes the values hold. This is the "Front+Desk"
// fault: url.QueryEscape wrote a space as "+", which a strict decoder
// shows as a plus.
func TestLegacyDecodersAgree(t *testing.T) {
	in := input(t, "GXP2140", appliance.Assignment{
		Extension: "201", Password: "a+b c&d=e%f#g", DisplayName: "Front Desk +1 & Co = ü",
		PValues: map[string]string{"P1362": "  two  spaces  ", "P30": "%20 literal", "P64": "x\ty"},
	})
	b, err := RenderLegacy(in)
	if err != nil {
		t.Fatal(err)
	}
	xmlBytes, err := Render(in)
	if err != nil {
		t.Fatal(err)
	}
	_, want := parse(t, xmlBytes)
	for name, decode := range map[string]func([]byte) (appliance.MAC, map[string]string, error){
		"strict": decodeLegacy, "form": decodeLegacyForm,
	} {
		_, got, err := decode(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s decoder (-want +got):\n%s", name, diff)
		}
		if got["P3"] != "Front Desk +1 & Co = ü" {
			t.Errorf("%s decoder: P3 = %q", name, got["P3"])
		}
	}
	if bytes.Contains(b, []byte("Front+Desk")) {
		t.Error("a space is written as +")
	}
	if !bytes.Contains(b, []byte("P3=Front%20Desk%20%2B1%20%26%20Co%20%3D%20%C3%BC&")) {
		t.Errorf("P3 not escaped as expected in %q", b)
	}
}

// FuzzLegacyRoundTrip checks that any value a config can hold comes back
// from both decoders unchanged.
func FuzzLegacyRoundTrip(f *testing.F) {
	for _, s := range []string{"Front Desk", "a+b", "%41", "&=&=", "ü\t", ""} {
		f.Add(s)
	}
	mac := appliance.MAC{0, 0x0b, 0x82, 1, 2, 3}
	f.Fuzz(func(t *testing.T, v string) {
		b := encodeLegacy(mac, "P3="+legacyEscape(v)+"&gnkey=0b82")
		for name, decode := range map[string]func([]byte) (appliance.MAC, map[string]string, error){
			"strict": decodeLegacy, "form": decodeLegacyForm,
		} {
			_, got, err := decode(b)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if got["P3"] != v {
				t.Fatalf("%s: P3 = %q, want %q", name, got["P3"], v)
			}
		}
	})
}
