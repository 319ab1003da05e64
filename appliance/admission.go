package appliance

import (
	"fmt"
	"strings"
)

// Unknown-phone policies (AdmissionSettings.UnknownPhones).
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

// AdmissionSettings decide which phones the box takes in and how accounts are
// handed out: the extension pool, the approval policy and the MAC allow and
// deny lists. They are part of Settings (GET|PUT /api/settings).
type AdmissionSettings struct {
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

// DefaultAdmissionSettings are a new box's: list every phone, no pool.
func DefaultAdmissionSettings() AdmissionSettings {
	return AdmissionSettings{PoolPasswordLength: DefaultPoolPasswordLength, UnknownPhones: UnknownList}
}

func (s AdmissionSettings) normalize() (AdmissionSettings, error) {
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

// Admission is what the box does with a SUBSCRIBE from a phone.
type Admission int

const (
	AdmitRecord Admission = iota // record it (it is listed)
	AdmitIgnore                  // answer it, do not record it (counted)
	AdmitDeny                    // answer it, never record or provision it (counted)
)

// Admit decides what to do with a SUBSCRIBE from m. known means the box
// has a record of m already (seen before, or pre-staged with an
// assignment): once taken in, a phone stays in, unless it is denied.
func (s AdmissionSettings) Admit(m MAC, known bool) Admission {
	switch {
	case MatchMAC(s.DenyMACs, m):
		return AdmitDeny
	case known, MatchMAC(s.AllowMACs, m), s.UnknownPhones != UnknownIgnore:
		return AdmitRecord
	}
	return AdmitIgnore
}
