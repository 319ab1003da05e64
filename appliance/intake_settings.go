package appliance

import (
	"fmt"
	"strconv"
	"strings"
)

// Unknown-phone policies (IntakeSettings.UnknownPhones).
const (
	// UnknownList records every phone that announces itself; it is
	// provisioned only once it has an assignment (typed, imported or from
	// the pool).
	UnknownList = "list"
	// UnknownIgnore records only phones the installer expects: pre-staged
	// MACs and those on the allow list. Other SUBSCRIBEs are still answered
	// (so the phone stops retrying) but not recorded, only counted.
	UnknownIgnore = "ignore"
)

// Pool password lengths: the default is about 115 bits from the 55-letter
// alphabet of profile.GeneratePassword; 64 is the longest SIP password an
// assignment may hold.
const (
	DefaultPoolPasswordLength = 20
	MinPoolPasswordLength     = 12
	MaxPoolPasswordLength     = 64
)

// maxMACList bounds the allow and deny lists: each SUBSCRIBE is matched
// against them.
const maxMACList = 1000

// IntakeSettings decide which phones the box takes in and how accounts are
// handed out: the extension pool, the approval policy and the MAC allow and
// deny lists. They are part of Settings (GET|PUT /api/settings).
type IntakeSettings struct {
	// ExtensionPool is where "provision all pending" takes extensions for
	// discovered phones without an assignment: "200-299", or several
	// ranges, "200-249,300-310". Empty: no pool.
	ExtensionPool string `json:"extension_pool"`
	// PoolPasswordLength is the length of the SIP passwords generated for
	// pool extensions (12-64; default 20).
	PoolPasswordLength int `json:"pool_password_length"`
	// PoolMaxPerPress caps how many phones one press gives a pool
	// extension (0: no cap).
	PoolMaxPerPress int `json:"pool_max_per_press"`
	// UnknownPhones is UnknownList (the default) or UnknownIgnore.
	UnknownPhones string `json:"unknown_phones"`
	// AllowMACs are MACs or prefixes (an OUI such as "000B82") of phones
	// that are taken in even when UnknownPhones is "ignore".
	AllowMACs []string `json:"allow_macs"`
	// DenyMACs are MACs or prefixes of phones that are never recorded nor
	// provisioned, whatever else says so. Deny wins over allow.
	DenyMACs []string `json:"deny_macs"`
}

// DefaultIntakeSettings are a new box's: list every phone, no pool.
func DefaultIntakeSettings() IntakeSettings {
	return IntakeSettings{PoolPasswordLength: DefaultPoolPasswordLength, UnknownPhones: UnknownList}
}

func (s IntakeSettings) normalize() (IntakeSettings, error) {
	pool, err := ParsePool(s.ExtensionPool)
	if err != nil {
		return s, err
	}
	s.ExtensionPool = pool.String()
	if s.PoolPasswordLength == 0 {
		s.PoolPasswordLength = DefaultPoolPasswordLength
	}
	if n := s.PoolPasswordLength; n < MinPoolPasswordLength || n > MaxPoolPasswordLength {
		return s, fieldErr("pool_password_length", "must be %d-%d, have %d", MinPoolPasswordLength, MaxPoolPasswordLength, n)
	}
	if n := s.PoolMaxPerPress; n < 0 || n > 10000 {
		return s, fieldErr("pool_max_per_press", "must be 0 (no cap) to 10000, have %d", n)
	}
	s.UnknownPhones = strings.ToLower(strings.TrimSpace(s.UnknownPhones))
	if s.UnknownPhones == "" {
		s.UnknownPhones = UnknownList
	}
	if s.UnknownPhones != UnknownList && s.UnknownPhones != UnknownIgnore {
		return s, fieldErr("unknown_phones", "must be %q or %q", UnknownList, UnknownIgnore)
	}
	if s.AllowMACs, err = normalizeMACList("allow_macs", s.AllowMACs); err != nil {
		return s, err
	}
	if s.DenyMACs, err = normalizeMACList("deny_macs", s.DenyMACs); err != nil {
		return s, err
	}
	for _, d := range s.DenyMACs {
		for _, a := range s.AllowMACs {
			if a == d {
				return s, fieldErr("deny_macs", "%s is also on allow_macs; remove it from one of them", d)
			}
		}
	}
	return s, nil
}

// normalizeMACList cleans a list of MACs and MAC prefixes: 6 to 12 hex
// digits, separators (: - .) allowed, stored as upper-case digits only.
// Duplicates are dropped.
func normalizeMACList(field string, in []string) ([]string, error) {
	if len(in) > maxMACList {
		return nil, fieldErr(field, "at most %d entries, have %d", maxMACList, len(in))
	}
	out := make([]string, 0, len(in))
	seen := map[string]bool{}
	for i, e := range in {
		p, err := ParseMACPrefix(e)
		if err != nil {
			return nil, fieldErr(fmt.Sprintf("%s[%d]", field, i), "%v", err)
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
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
// (entries as ParseMACPrefix returns them).
func MatchMAC(list []string, m MAC) bool {
	if len(list) == 0 {
		return false
	}
	s := m.String()
	for _, p := range list {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// Intake is what the box does with a SUBSCRIBE from a phone.
type Intake int

const (
	IntakeRecord Intake = iota // record it (it is listed)
	IntakeIgnore               // answer it, do not record it (counted)
	IntakeDeny                 // answer it, never record or provision it (counted)
)

// Admit decides what to do with a SUBSCRIBE from m. known means the box
// has a record of m already (seen before, or pre-staged with an
// assignment): once taken in, a phone stays in, unless it is denied.
func (s IntakeSettings) Admit(m MAC, known bool) Intake {
	switch {
	case MatchMAC(s.DenyMACs, m):
		return IntakeDeny
	case known, MatchMAC(s.AllowMACs, m), s.UnknownPhones != UnknownIgnore:
		return IntakeRecord
	}
	return IntakeIgnore
}

// Pool is a parsed extension pool: ranges of decimal extensions, handed
// out in the order written.
type Pool []ExtRange

// ExtRange is one range of a pool, Lo to Hi inclusive. Width > 0 means the
// extensions are zero-padded to that many digits ("0200-0299").
type ExtRange struct {
	Lo, Hi uint64
	Width  int
}

// maxExtDigits keeps every number in a uint64 with room to spare.
const maxExtDigits = 18

// ParsePool parses "200-299", "200-249,300-310" or single extensions
// ("200-249,260"). Spaces are ignored. Ranges must not overlap.
func ParsePool(s string) (Pool, error) {
	s = strings.ReplaceAll(strings.TrimSpace(s), " ", "")
	if s == "" {
		return nil, nil
	}
	var p Pool
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		if !isRange {
			hi = lo
		}
		r, err := parseRange(lo, hi)
		if err != nil {
			return nil, fieldErr("extension_pool", "%q: %v", part, err)
		}
		for _, q := range p {
			if r.Lo <= q.Hi && q.Lo <= r.Hi && r.Width == q.Width {
				return nil, fieldErr("extension_pool", "%q overlaps %s", part, q)
			}
		}
		p = append(p, r)
	}
	return p, nil
}

func parseRange(lo, hi string) (ExtRange, error) {
	if lo == "" || hi == "" {
		return ExtRange{}, fmt.Errorf("want a range such as 200-299")
	}
	for _, n := range []string{lo, hi} {
		if len(n) > maxExtDigits {
			return ExtRange{}, fmt.Errorf("at most %d digits", maxExtDigits)
		}
		for i := 0; i < len(n); i++ {
			if n[i] < '0' || n[i] > '9' {
				return ExtRange{}, fmt.Errorf("extensions in a pool are numbers")
			}
		}
	}
	var r ExtRange
	if len(lo) > 1 && lo[0] == '0' {
		// Zero-padded: both ends have the same number of digits, and every
		// extension is written with that many.
		if len(hi) != len(lo) {
			return r, fmt.Errorf("zero-padded ends must have the same number of digits")
		}
		r.Width = len(lo)
	} else if len(hi) > 1 && hi[0] == '0' {
		return r, fmt.Errorf("zero-padded ends must have the same number of digits")
	}
	r.Lo, _ = strconv.ParseUint(lo, 10, 64)
	r.Hi, _ = strconv.ParseUint(hi, 10, 64)
	if r.Hi < r.Lo {
		return r, fmt.Errorf("the range ends before it starts")
	}
	return r, nil
}

// Format writes extension n of the range.
func (r ExtRange) Format(n uint64) string {
	if r.Width > 0 {
		return fmt.Sprintf("%0*d", r.Width, n)
	}
	return strconv.FormatUint(n, 10)
}

func (r ExtRange) String() string {
	if r.Lo == r.Hi {
		return r.Format(r.Lo)
	}
	return r.Format(r.Lo) + "-" + r.Format(r.Hi)
}

// String is the canonical form: "200-249,300-310".
func (p Pool) String() string {
	parts := make([]string, len(p))
	for i, r := range p {
		parts[i] = r.String()
	}
	return strings.Join(parts, ",")
}

// Size is how many extensions the pool holds.
func (p Pool) Size() uint64 {
	var n uint64
	for _, r := range p {
		n += r.Hi - r.Lo + 1
	}
	return n
}

// Contains reports whether ext is one of the pool's extensions, written
// as the pool writes it.
func (p Pool) Contains(ext string) bool {
	if ext == "" || len(ext) > maxExtDigits {
		return false
	}
	n, err := strconv.ParseUint(ext, 10, 64)
	if err != nil {
		return false
	}
	for _, r := range p {
		if n >= r.Lo && n <= r.Hi && r.Format(n) == ext {
			return true
		}
	}
	return false
}

// Free returns up to limit extensions of the pool, in pool order, for which
// taken reports false.
func (p Pool) Free(limit int, taken func(ext string) bool) []string {
	var out []string
	for _, r := range p {
		for n := r.Lo; len(out) < limit; n++ {
			if ext := r.Format(n); !taken(ext) {
				out = append(out, ext)
			}
			if n == r.Hi {
				break
			}
		}
	}
	return out
}
