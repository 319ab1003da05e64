package appliance

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// MAC is an IEEE 802 MAC-48 address. The zero value is not a valid phone MAC.
type MAC [6]byte

// ErrBadMAC is wrapped by every MAC parse failure.
var ErrBadMAC = errors.New("bad MAC address")

// ParseMAC accepts 12 hex digits in any case, optionally separated by ':',
// '-' or '.' (as people type them from a sticker), and rejects addresses that
// no phone's NIC can have: all zeros and group (multicast/broadcast) addresses.
func ParseMAC(s string) (MAC, error) {
	var m MAC
	clean := make([]byte, 0, 12)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ':' || c == '-' || c == '.':
			continue
		case isHex(c):
			clean = append(clean, c)
		default:
			return m, fmt.Errorf("%w: %q: unexpected character %q", ErrBadMAC, truncate(s, 32), c)
		}
		if len(clean) > 12 {
			return m, fmt.Errorf("%w: %q: more than 12 hex digits", ErrBadMAC, truncate(s, 32))
		}
	}
	if len(clean) != 12 {
		return m, fmt.Errorf("%w: %q: want 12 hex digits, have %d", ErrBadMAC, truncate(s, 32), len(clean))
	}
	if _, err := hex.Decode(m[:], clean); err != nil {
		return m, fmt.Errorf("%w: %q: %v", ErrBadMAC, truncate(s, 32), err)
	}
	if err := m.check(); err != nil {
		return MAC{}, err
	}
	return m, nil
}

func (m MAC) check() error {
	if m == (MAC{}) {
		return fmt.Errorf("%w: all zeros", ErrBadMAC)
	}
	if m[0]&1 != 0 {
		return fmt.Errorf("%w: %s is a group (multicast) address", ErrBadMAC, m)
	}
	return nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// String returns the 12 upper-case hex digits the API and NOTIFY URLs use.
func (m MAC) String() string { return strings.ToUpper(hex.EncodeToString(m[:])) }

// Lower returns the 12 lower-case hex digits Grandstream file names use.
func (m MAC) Lower() string { return hex.EncodeToString(m[:]) }

// IsZero reports whether m is the zero value.
func (m MAC) IsZero() bool { return m == MAC{} }

// MarshalText implements encoding.TextMarshaler.
func (m MAC) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseMAC's rules.
func (m *MAC) UnmarshalText(b []byte) error {
	v, err := ParseMAC(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// ParseMACPrefix accepts a MAC or the start of one: 6 to 12 hex digits
// (6 is an OUI, 9 an OUI-36 block), optionally separated by ':', '-' or
// '.'. It returns the digits in upper case.
func ParseMACPrefix(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ':' || c == '-' || c == '.' || c == ' ':
		case isHex(c):
			b.WriteByte(c)
		default:
			return "", fmt.Errorf("%q: unexpected character %q (want a MAC or a prefix such as 000B82)", truncate(s, 32), c)
		}
	}
	if n := b.Len(); n < 6 || n > 12 {
		return "", fmt.Errorf("%q: want 6 to 12 hex digits (an OUI such as 000B82, or a whole MAC), have %d", truncate(s, 32), n)
	}
	return strings.ToUpper(b.String()), nil
}

// MatchMAC reports whether m starts with one of the prefixes in list
// (entries as ParseMACPrefix returns them). It does not allocate: every
// SUBSCRIBE is matched.
func MatchMAC(list []string, m MAC) bool {
	if len(list) == 0 {
		return false
	}
	const digits = "0123456789ABCDEF"
	var s [12]byte
	for i, b := range m {
		s[2*i], s[2*i+1] = digits[b>>4], digits[b&0xf]
	}
	for _, p := range list {
		if len(p) <= len(s) && string(s[:len(p)]) == p {
			return true
		}
	}
	return false
}
