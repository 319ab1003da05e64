package profile

import (
	"encoding/binary"
	"strconv"
	"strings"
)

// legacyPad is the multiple the legacy payload is padded to with NUL
// bytes. Known encoders pad to 2 (Elastix, sipXecom, Gemeinschaft 3) or 4
// (Wazo provd's GXP2000 plugin); 16 is a multiple of both, so a decoder
// that wants either gets it. That phones ignore up to 15 trailing NULs
// after the gnkey pair is not verified on hardware (docs/models.md).
const legacyPad = 16

// RenderLegacy returns the same P-values as Render in the legacy binary
// cfg<mac> encoding (reference §1.3): a 16-byte header — the file length in
// 16-bit words (4 bytes, big-endian), a checksum (2 bytes), the MAC (6
// bytes) and "\r\n\r\n" — then the payload "P1=v&P2=v&…&gnkey=0b82" with
// values escaped by legacyEscape in ascending P-number order, padded with
// NUL to a multiple of 16 bytes. The checksum makes the 16-bit big-endian
// sum of all the file's words 0 modulo 65536.
func RenderLegacy(in Input) ([]byte, error) {
	c, err := build(in)
	if err != nil {
		return nil, err
	}
	var payload strings.Builder
	for _, p := range c.numbers() {
		payload.WriteString("P" + strconv.Itoa(p) + "=" + legacyEscape(c[p].value) + "&")
	}
	payload.WriteString("gnkey=0b82")
	return encodeLegacy(in.MAC, payload.String()), nil
}

// legacyEscape escapes a value for the legacy payload, as little as every
// known decoder needs: "%XX" (upper-case hex) for each byte that is not
// printable ASCII, for a space ("%20", as Wazo's urllib quote and
// Elastix's rawurlencode write it, never "+"), and for the four bytes the
// payload's syntax gives a meaning: "&" and "=" (separators), "%" (the
// escape) and "+" (a space to a form decoder). Everything else is written
// as is, so a decoder that does not unescape at all still reads plain
// values right. UTF-8 text goes out byte by byte.
func legacyEscape(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c > ' ' && c < 0x7f && c != '&' && c != '=' && c != '%' && c != '+' {
			b.WriteByte(c)
			continue
		}
		const hex = "0123456789ABCDEF"
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

func encodeLegacy(mac [6]byte, payload string) []byte {
	if r := len(payload) % legacyPad; r != 0 {
		payload += strings.Repeat("\x00", legacyPad-r)
	}
	b := make([]byte, 16, 16+len(payload))
	binary.BigEndian.PutUint32(b[0:4], uint32(8+len(payload)/2))
	copy(b[6:12], mac[:])
	copy(b[12:16], "\r\n\r\n")
	b = append(b, payload...)
	// The checksum word is still 0 here, so the sum is that of the rest.
	var sum uint16
	for i := 0; i < len(b); i += 2 {
		sum += binary.BigEndian.Uint16(b[i:])
	}
	binary.BigEndian.PutUint16(b[4:6], -sum)
	return b
}
