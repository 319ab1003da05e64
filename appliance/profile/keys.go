package profile

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// keyMode describes one vendor-neutral key type.
type keyMode struct {
	// code is the key-mode value of a physical MPK or a dynamic VPK
	// (reference §2.3, FPBX-P). Fixed line VPKs count the same modes from
	// +10 (10 Speed Dial, 11 BLF, …); the box never writes those keys.
	code int
	// vpkOnly modes exist on dynamic VPKs but not on MPKs (codes 21-23).
	vpkOnly bool
	// needsValue modes do nothing without a number or URI.
	needsValue bool
}

// keyModes is the key vocabulary of Assignment.Keys[].Type.
var keyModes = map[string]keyMode{
	"none":                {code: -1},
	"speed_dial":          {code: 0, needsValue: true},
	"blf":                 {code: 1, needsValue: true},
	"presence":            {code: 2, needsValue: true},
	"eventlist_blf":       {code: 3},
	"speed_dial_active":   {code: 4, needsValue: true},
	"dtmf":                {code: 5, needsValue: true},
	"voicemail":           {code: 6},
	"call_return":         {code: 7},
	"transfer":            {code: 8},
	"call_park":           {code: 9},
	"intercom":            {code: 10, needsValue: true},
	"ldap":                {code: 11},
	"conference":          {code: 12},
	"multicast_paging":    {code: 13, needsValue: true},
	"record":              {code: 14},
	"call_log":            {code: 15},
	"monitored_call_park": {code: 16, needsValue: true},
	"menu":                {code: 17},
	"xml_app":             {code: 18},
	"information":         {code: 19},
	"message":             {code: 20},
	"forward":             {code: 21, vpkOnly: true},
	"dnd":                 {code: 22, vpkOnly: true},
	"redial":              {code: 23, vpkOnly: true},
}

// KeyTypes returns the key types an assignment may use, sorted.
func KeyTypes() []string { return slices.Sorted(maps.Keys(keyModes)) }

func lookupKeyMode(typ string) (keyMode, bool) {
	m, ok := keyModes[strings.ToLower(strings.TrimSpace(typ))]
	return m, ok
}

// slot is one programmable key position on the phone: physical MPK n or
// on-screen VPK n, both 1-based as in the phone's web UI.
type slot struct {
	vpk bool
	n   int
}

func (s slot) String() string {
	if s.vpk {
		return fmt.Sprintf("VPK%d", s.n)
	}
	return fmt.Sprintf("MPK%d", s.n)
}

// slotP are the P-numbers of one key.
type slotP struct{ Mode, Account, Label, Value int }

// pnums returns the P-numbers of s (reference §2.3, FPBX-P). The blocks
// were added as the firmware grew, hence three formulas for MPKs and two
// for VPKs.
func (s slot) pnums() slotP {
	n := s.n
	switch {
	case !s.vpk && n <= 7:
		return slotP{Mode: 322 + n, Account: 301 + 3*(n-1), Label: 302 + 3*(n-1), Value: 303 + 3*(n-1)}
	case !s.vpk && n <= 18:
		return block(353 + 4*(n-8))
	case !s.vpk:
		return block(1440 + 4*(n-19))
	case n <= 6:
		return slotP{Mode: 1363 + 2*(n-1), Account: 1364 + 2*(n-1), Label: 1465 + 2*(n-1), Value: 1466 + 2*(n-1)}
	default:
		return block(23800 + 4*(n-7))
	}
}

func block(b int) slotP { return slotP{Mode: b, Account: b + 1, Label: b + 2, Value: b + 3} }

// labelMax is how long a key's label may be: the MPK "Name" takes 128
// characters, the VPK "Description" 32 (FPBX-P comments).
func (s slot) labelMax() int {
	if s.vpk {
		return 32
	}
	return 128
}

// valueMax is how long a key's value may be on either kind (FPBX-P).
const valueMax = 64

// slots returns the positions Assignment.Keys fill, in order: the physical
// MPKs first, then the dynamic VPKs after the fixed line keys, which stay
// the phone's own.
func (m Model) slots() []slot {
	out := make([]slot, 0, m.Keys())
	for n := 1; n <= m.MPKs; n++ {
		out = append(out, slot{n: n})
	}
	for n := m.LineVPKs + 1; n <= m.VPKs; n++ {
		out = append(out, slot{vpk: true, n: n})
	}
	return out
}
