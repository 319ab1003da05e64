package store

import (
	"bytes"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// fastDecoder reads the form encoding/json writes the store's records in
// (recorddecode.go says which form, and why). Every method returns false
// as soon as the input leaves that form.
type fastDecoder struct {
	b  []byte
	i  int
	in interner
	// check makes the decoder only check the strings, not keep them: for
	// records read to find out whether they decode.
	check   bool
	scratch [128]byte // unescaped strings are built here before their copy
}

// object reads an object, calling member for each name (the raw bytes of
// a name without escapes); member reads the value and returns the name's
// own bit, or 0 when the value or the name left the fast path. A name
// seen twice is not the fast path's to judge (json/v2 refuses it).
func (d *fastDecoder) object(member func(name []byte) uint64) bool {
	if !d.next('{') {
		return false
	}
	if d.next('}') {
		return true
	}
	var seen uint64
	for {
		name, ok := d.name()
		if !ok || !d.next(':') {
			return false
		}
		bit := member(name)
		if bit == 0 || seen&bit != 0 {
			return false
		}
		seen |= bit
		if d.next(',') {
			continue
		}
		return d.next('}')
	}
}

func (d *fastDecoder) next(c byte) bool {
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// name reads a member name of lower-case letters, digits and '_'.
func (d *fastDecoder) name() ([]byte, bool) {
	if !d.next('"') {
		return nil, false
	}
	start := d.i
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			return d.b[start : d.i-1], true
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_':
			d.i++
		default:
			return nil, false
		}
	}
	return nil, false
}

// raw reads a string and returns its contents, unescaped (in d.scratch
// when it held escapes, else a view of the input). Control characters and
// invalid UTF-8 leave the fast path.
func (d *fastDecoder) raw() ([]byte, bool) {
	if !d.next('"') {
		return nil, false
	}
	start := d.i
	if j := bytes.IndexByte(d.b[start:], '"'); j >= 0 {
		// Most strings are plain ASCII: one pass finds out.
		s := d.b[start : start+j]
		plain := true
		for _, c := range s {
			if c < 0x20 || c == '\\' || c >= utf8.RuneSelf {
				plain = false
				break
			}
		}
		if plain {
			d.i = start + j + 1
			return s, true
		}
	}
	escaped := false
	for d.i < len(d.b) {
		switch c := d.b[d.i]; {
		case c == '"':
			d.i++
			if escaped {
				u, err := jsontext.AppendUnquote(d.scratch[:0], d.b[start-1:d.i])
				return u, err == nil
			}
			s := d.b[start : d.i-1]
			return s, utf8.Valid(s)
		case c == '\\':
			escaped = true
			d.i += 2 // the escaped byte cannot end the string
		case c < 0x20:
			return nil, false
		default:
			d.i++
		}
	}
	return nil, false
}

func (d *fastDecoder) str(dst *string) bool {
	s, ok := d.raw()
	if !d.check {
		*dst = string(s)
	}
	return ok
}

// shared reads a string that many phones share (see interner).
func (d *fastDecoder) shared(dst *string) bool {
	s, ok := d.raw()
	if !d.check {
		*dst = d.in.bytes(s)
	}
	return ok
}

// text reads a string into a TextUnmarshaler, as json/v2 does.
func (d *fastDecoder) text(dst interface{ UnmarshalText([]byte) error }) bool {
	s, ok := d.raw()
	return ok && dst.UnmarshalText(s) == nil
}

// time reads a timestamp in the form encoding/json writes UTC times in,
// 2006-01-02T15:04:05Z with up to nine fraction digits, to what json/v2
// reads (time.Time's UnmarshalText, whose range checks are repeated
// here, then json/v2's own RFC 3339 checks, which pass on this form).
// Any other form leaves the fast path.
func (d *fastDecoder) time(dst *time.Time) bool {
	s, ok := d.raw()
	n := len(s)
	if !ok || n < len("2006-01-02T15:04:05Z") || n == len("2006-01-02T15:04:05.Z") || n > len("2006-01-02T15:04:05.999999999Z") ||
		s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[n-1] != 'Z' || n > 20 && s[19] != '.' {
		return false
	}
	num := func(i, j int) int {
		v := 0
		for _, c := range s[i:j] {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	year, month, day := num(0, 4), num(5, 7), num(8, 10)
	hour, minute, sec := num(11, 13), num(14, 16), num(17, 19)
	nsec := 0
	if n > 20 {
		nsec = num(20, n-1)
		for range 9 - (n - 21) {
			nsec *= 10
		}
	}
	if year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || sec < 0 || sec > 59 || nsec < 0 ||
		day > time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day() {
		return false
	}
	*dst = time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	return true
}

// integer reads a JSON integer (no fraction, no exponent) that fits in
// bits bits, signed or not.
func (d *fastDecoder) integer(bits int, signed bool) (int64, uint64, bool) {
	start := d.i
	if signed {
		d.next('-')
	}
	digits := d.i
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.i++
	}
	n := d.i - digits
	if n == 0 || n > 1 && d.b[digits] == '0' || d.i < len(d.b) && (d.b[d.i] == '.' || d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		return 0, 0, false
	}
	s := string(d.b[start:d.i]) // no allocation: converted for the call only
	if signed {
		v, err := strconv.ParseInt(s, 10, bits)
		return v, 0, err == nil
	}
	v, err := strconv.ParseUint(s, 10, bits)
	return 0, v, err == nil
}

func (d *fastDecoder) int(dst *int) bool {
	v, _, ok := d.integer(strconv.IntSize, true)
	*dst = int(v)
	return ok
}

func (d *fastDecoder) bool(dst *bool) bool {
	switch {
	case len(d.b)-d.i >= 4 && string(d.b[d.i:d.i+4]) == "true":
		*dst, d.i = true, d.i+4
		return true
	case len(d.b)-d.i >= 5 && string(d.b[d.i:d.i+5]) == "false":
		*dst, d.i = false, d.i+5
		return true
	}
	return false
}

// on is bit when ok, else 0: a member's answer to object.
func on(bit uint64, ok bool) uint64 {
	if ok {
		return bit
	}
	return 0
}

// array reads a non-empty array, calling elem for each value (an empty
// one is json/v2's: it makes an empty, non-nil slice).
func (d *fastDecoder) array(elem func() bool) bool {
	if !d.next('[') || d.next(']') {
		return false
	}
	for {
		if !elem() {
			return false
		}
		if d.next(',') {
			continue
		}
		return d.next(']')
	}
}
