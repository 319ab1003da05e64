package appliance

import (
	"fmt"
	"strconv"
	"strings"
)

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
