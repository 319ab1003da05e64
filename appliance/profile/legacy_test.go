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
// separator, the order of the P-values and the gnkey trailer.
func decodeLegacy(b []byte) (mac appliance.MAC, values map[string]string, err error) {
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
	if strings.HasSuffix(payload, "\x00") {
		payload = payload[:len(payload)-1]
		if len(payload)%2 == 0 {
			return mac, nil, fmt.Errorf("padded although the payload had an even length")
		}
	}
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
		if values[name], err = url.QueryUnescape(v); err != nil {
			return mac, nil, fmt.Errorf("%s: %v", name, err)
		}
	}
	return mac, values, nil
}

// TestEncodeLegacyKnownAnswer pins the byte layout with a file computed by
// an independent implementation (a few lines of Python's struct module)
// from the reference's description.
func TestEncodeLegacyKnownAnswer(t *testing.T) {
	mac := mustMAC(t, "000b82123456")
	got := encodeLegacy(mac, "P271=1&gnkey=0b82")
	want, _ := hex.DecodeString("000000119f21000b821234560d0a0d0a503237313d3126676e6b65793d3062383200")
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

// TestEncodeLegacyPadding checks both payload parities: an odd payload
// gets one NUL, and the pad byte counts in the length and the checksum.
func TestEncodeLegacyPadding(t *testing.T) {
	mac := mustMAC(t, "000b82123456")
	for _, tc := range []struct {
		payload string
		size    int
	}{
		{"P3=x&gnkey=0b82", 16 + 16},  // 15 bytes + NUL
		{"P3=xy&gnkey=0b82", 16 + 16}, // 16 bytes
		{"P3=xyz&gnkey=0b82", 16 + 18},
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
