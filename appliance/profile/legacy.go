package profile

import (
	"encoding/binary"
	"net/url"
	"strconv"
	"strings"
)

// RenderLegacy returns the same P-values as Render in the legacy binary
// cfg<mac> encoding (reference §1.3): a 16-byte header — the file length in
// 16-bit words (4 bytes, big-endian), a checksum (2 bytes), the MAC (6
// bytes) and "\r\n\r\n" — then the payload "P1=v&P2=v&…&gnkey=0b82" with
// URL-encoded values in ascending P-number order, padded with NUL to an
// even length. The checksum makes the 16-bit big-endian sum of all the
// file's words 0 modulo 65536.
func RenderLegacy(in Input) ([]byte, error) {
	c, err := build(in)
	if err != nil {
		return nil, err
	}
	var payload strings.Builder
	for _, p := range c.numbers() {
		payload.WriteString("P" + strconv.Itoa(p) + "=" + url.QueryEscape(c[p].value) + "&")
	}
	payload.WriteString("gnkey=0b82")
	return encodeLegacy(in.MAC, payload.String()), nil
}

func encodeLegacy(mac [6]byte, payload string) []byte {
	if len(payload)%2 != 0 {
		payload += "\x00"
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
