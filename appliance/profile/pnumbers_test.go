package profile

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/pnpbox/pnpbox/appliance"
)

// The P-numbers below are copied from the reference's tables (§2.1, §2.2,
// §2.3) as literals, not computed, so that a wrong formula in the renderer
// cannot be matched by the same wrong formula here.

// refAccounts is reference §2.1, one row per account.
var refAccounts = []struct {
	active, name, server, proxy, userID, authID, password, display, voicemail int
	vocoders                                                                  [8]int
}{
	{271, 270, 47, 48, 35, 36, 34, 3, 33, [8]int{57, 58, 59, 60, 61, 62, 46, 98}},
	{401, 417, 402, 403, 404, 405, 406, 407, 426, [8]int{451, 452, 453, 454, 455, 456, 457, 458}},
	{501, 517, 502, 503, 504, 505, 506, 507, 526, [8]int{551, 552, 553, 554, 555, 556, 557, 558}},
	{601, 617, 602, 603, 604, 605, 606, 607, 626, [8]int{651, 652, 653, 654, 655, 656, 657, 658}},
	{1701, 1717, 1702, 1703, 1704, 1705, 1706, 1707, 1726, [8]int{1751, 1752, 1753, 1754, 1755, 1756, 1757, 1758}},
	{1801, 1817, 1802, 1803, 1804, 1805, 1806, 1807, 1826, [8]int{1851, 1852, 1853, 1854, 1855, 1856, 1857, 1858}},
}

func TestAccountPNumbers(t *testing.T) {
	a := appliance.Assignment{Codecs: []string{"PCMU", "PCMA", "G722", "G729", "G726-32", "G723", "iLBC", "OPUS"}}
	for n := 1; n <= 6; n++ {
		acc := appliance.Account{
			Extension: fmt.Sprintf("10%d", n), AuthID: fmt.Sprintf("auth%d", n), Password: fmt.Sprintf("pw%d", n),
			DisplayName: fmt.Sprintf("Name %d", n), SIPServer: fmt.Sprintf("sip%d.example.com", n),
		}
		if n == 1 {
			a.Extension, a.AuthID, a.Password, a.DisplayName, a.SIPServer = acc.Extension, acc.AuthID, acc.Password, acc.DisplayName, acc.SIPServer
		} else {
			a.Accounts = append(a.Accounts, acc)
		}
	}
	got := render(t, input(t, "GXP2160", a))
	for i, ref := range refAccounts {
		n := i + 1
		t.Run(fmt.Sprintf("account %d", n), func(t *testing.T) {
			want := map[int]string{
				ref.active: "1", ref.name: fmt.Sprintf("Name %d", n), ref.server: fmt.Sprintf("sip%d.example.com", n),
				ref.proxy: "sbc.example.com:5070", ref.userID: fmt.Sprintf("10%d", n), ref.authID: fmt.Sprintf("auth%d", n),
				ref.password: fmt.Sprintf("pw%d", n), ref.display: fmt.Sprintf("Name %d", n), ref.voicemail: "*97",
			}
			// PCMU 0, PCMA 8, G722 9, G729 18, G726-32 2, G723 4, iLBC 98, OPUS 123 (§2.1).
			for j, code := range []string{"0", "8", "9", "18", "2", "4", "98", "123"} {
				want[ref.vocoders[j]] = code
			}
			for p, w := range want {
				if g := got["P"+strconv.Itoa(p)]; g != w {
					t.Errorf("P%d = %q, want %q", p, g, w)
				}
			}
		})
	}
	// Wazo's (N+2)*100 formula would have put accounts 5 and 6 here.
	for _, p := range []string{"P701", "P704", "P801", "P804"} {
		if v, ok := got[p]; ok {
			t.Errorf("%s = %q: accounts 5 and 6 live at 1700 and 1800", p, v)
		}
	}
}

// refSlot is one key position with its P-numbers from reference §2.3.
type refSlot struct {
	model                       string
	key                         int // index into Assignment.Keys
	slot                        string
	mode, account, label, value int
}

// refSlots are the edges of every formula in §2.3 on every model that
// reaches them, and the first and last key of each model.
var refSlots = []refSlot{
	{"GXP2130", 0, "MPK1", 323, 301, 302, 303},
	{"GXP2130", 6, "MPK7", 329, 319, 320, 321},
	{"GXP2130", 7, "MPK8", 353, 354, 355, 356},
	{"GXP2130", 8, "VPK4", 1369, 1370, 1471, 1472}, // first dynamic VPK after 3 line keys
	{"GXP2130", 10, "VPK6", 1373, 1374, 1475, 1476},
	{"GXP2130", 11, "VPK7", 23800, 23801, 23802, 23803},
	{"GXP2130", 16, "VPK12", 23820, 23821, 23822, 23823},
	{"GXP2140", 0, "VPK5", 1371, 1372, 1473, 1474}, // no MPKs; first dynamic VPK after 4 line keys
	{"GXP2140", 1, "VPK6", 1373, 1374, 1475, 1476},
	{"GXP2140", 2, "VPK7", 23800, 23801, 23802, 23803},
	{"GXP2140", 11, "VPK16", 23836, 23837, 23838, 23839},
	{"GXP2160", 0, "MPK1", 323, 301, 302, 303},
	{"GXP2160", 6, "MPK7", 329, 319, 320, 321},
	{"GXP2160", 7, "MPK8", 353, 354, 355, 356},
	{"GXP2160", 17, "MPK18", 393, 394, 395, 396},
	{"GXP2160", 18, "MPK19", 1440, 1441, 1442, 1443},
	{"GXP2160", 23, "MPK24", 1460, 1461, 1462, 1463},
	{"GXP2160", 24, "VPK7", 23800, 23801, 23802, 23803}, // first dynamic VPK after 6 line keys
	{"GXP2160", 41, "VPK24", 23868, 23869, 23870, 23871},
}

func TestKeyPNumbers(t *testing.T) {
	for _, model := range []string{"GXP2130", "GXP2140", "GXP2160"} {
		m, _ := LookupModel(model)
		a := appliance.Assignment{Extension: "201", Accounts: extraAccounts(m.Accounts - 1)}
		for i := range m.Keys() {
			// Account cycles 1…model's count, so every key's account differs
			// from its neighbour's.
			a.Keys = append(a.Keys, appliance.Key{Type: "blf", Value: fmt.Sprintf("v%d", i), Label: fmt.Sprintf("l%d", i), Account: i%m.Accounts + 1})
		}
		got := render(t, input(t, model, a))
		for _, r := range refSlots {
			if r.model != model {
				continue
			}
			t.Run(model+" "+r.slot, func(t *testing.T) {
				if s := m.slots()[r.key]; s.String() != r.slot {
					t.Errorf("keys[%d] is on %s, want %s", r.key, s, r.slot)
				}
				want := map[int]string{
					// BLF is 1 on MPKs and dynamic VPKs; a fixed line VPK
					// would call it 11 (§2.3), and none is written here.
					r.mode:    "1",
					r.account: strconv.Itoa(r.key % m.Accounts),
					r.label:   fmt.Sprintf("l%d", r.key),
					r.value:   fmt.Sprintf("v%d", r.key),
				}
				for p, w := range want {
					if g := got["P"+strconv.Itoa(p)]; g != w {
						t.Errorf("P%d = %q, want %q", p, g, w)
					}
				}
			})
		}
		// The fixed line VPKs (§2.3: GXP2130 VPK1-3, GXP2140 VPK1-4,
		// GXP2160 VPK1-6) stay the phone's own.
		for n := 1; n <= m.LineVPKs; n++ {
			for _, p := range []int{1363 + 2*(n-1), 1364 + 2*(n-1), 1465 + 2*(n-1), 1466 + 2*(n-1), 23968 + n - 1} {
				if v, ok := got["P"+strconv.Itoa(p)]; ok {
					t.Errorf("%s: P%d (line key VPK%d) = %q, want it left alone", model, p, n, v)
				}
			}
		}
		// One key more does not fit.
		a.Keys = append(a.Keys, appliance.Key{Type: "voicemail"})
		if err := Validate(a, model); err == nil {
			t.Errorf("%s: %d keys validated", model, len(a.Keys))
		}
	}
}

// TestKeyModes checks each key type's code against §2.3's list, on a
// dynamic VPK (which has them all) and on an MPK (which lacks 21-23).
func TestKeyModes(t *testing.T) {
	want := map[string]int{
		"none": -1, "speed_dial": 0, "blf": 1, "presence": 2, "eventlist_blf": 3, "speed_dial_active": 4,
		"dtmf": 5, "voicemail": 6, "call_return": 7, "transfer": 8, "call_park": 9, "intercom": 10,
		"ldap": 11, "conference": 12, "multicast_paging": 13, "record": 14, "call_log": 15,
		"monitored_call_park": 16, "menu": 17, "xml_app": 18, "information": 19, "message": 20,
		"forward": 21, "dnd": 22, "redial": 23,
	}
	if len(KeyTypes()) != len(want) {
		t.Errorf("KeyTypes() = %v, want the %d types of this test", KeyTypes(), len(want))
	}
	for typ, code := range want {
		t.Run(typ, func(t *testing.T) {
			// GXP2140: keys[0] is VPK5, mode P1371.
			got := render(t, input(t, "GXP2140", appliance.Assignment{Extension: "201",
				Keys: []appliance.Key{{Type: typ, Value: "1"}}}))
			if got["P1371"] != strconv.Itoa(code) {
				t.Errorf("VPK5 mode P1371 = %q, want %d", got["P1371"], code)
			}
			// GXP2160: keys[0] is MPK1, mode P323.
			_, err := Render(input(t, "GXP2160", appliance.Assignment{Extension: "201",
				Keys: []appliance.Key{{Type: typ, Value: "1"}}}))
			if code > 20 {
				checkFieldError(t, "MPK1", err, "keys[0].type")
				return
			}
			if err != nil {
				t.Fatalf("MPK1: %v", err)
			}
		})
	}
}

// refGlobals is reference §2.2: the global P-values the renderer writes.
var refGlobals = map[int]string{
	2: "admin password", 30: "NTP server", 64: "time zone", 192: "firmware server path",
	193: "auto-check interval", 194: "automatic upgrade", 212: "config upgrade via",
	237: "config server path", 285: "hour of day", 286: "day of week", 1362: "language",
	1414: "3CX auto provision", 6767: "firmware upgrade via",
}

// TestEveryPNumberIsInTheReference renders each model with every feature in
// use and checks that each P-value written is one the reference lists.
func TestEveryPNumberIsInTheReference(t *testing.T) {
	known := map[int]string{}
	for p, what := range refGlobals {
		known[p] = what
	}
	for i, r := range refAccounts {
		for _, p := range append([]int{r.active, r.name, r.server, r.proxy, r.userID, r.authID, r.password, r.display, r.voicemail}, r.vocoders[:]...) {
			known[p] = fmt.Sprintf("account %d", i+1)
		}
	}
	// Keys, by the §2.3 formulas (their edges are pinned by TestKeyPNumbers).
	for n := 1; n <= 24; n++ {
		var b int
		switch {
		case n <= 7:
			for _, p := range []int{322 + n, 301 + 3*(n-1), 302 + 3*(n-1), 303 + 3*(n-1)} {
				known[p] = fmt.Sprintf("MPK%d", n)
			}
			continue
		case n <= 18:
			b = 353 + 4*(n-8)
		default:
			b = 1440 + 4*(n-19)
		}
		for p := b; p < b+4; p++ {
			known[p] = fmt.Sprintf("MPK%d", n)
		}
	}
	for n := 1; n <= 48; n++ {
		ps := []int{1363 + 2*(n-1), 1364 + 2*(n-1), 1465 + 2*(n-1), 1466 + 2*(n-1)}
		if n >= 7 {
			b := 23800 + 4*(n-7)
			ps = []int{b, b + 1, b + 2, b + 3}
		}
		for _, p := range ps {
			known[p] = fmt.Sprintf("VPK%d", n)
		}
	}

	for _, model := range []string{"GXP2130", "GXP2135", "GXP2140", "GXP2160", "GXP2170", ""} {
		m, _, _ := resolveModel(model, appliance.Assignment{})
		a := appliance.Assignment{Extension: "201", Password: "pw", Accounts: extraAccounts(m.Accounts - 1), Codecs: []string{"PCMU"}}
		for range m.Keys() {
			a.Keys = append(a.Keys, appliance.Key{Type: "speed_dial", Value: "1"})
		}
		in := input(t, model, a)
		in.Site.PValues = nil // raw overrides are the user's, not the reference's
		in.Site.ModelDefaults = nil
		in.Site.AutoProvision.IntervalMinutes = 60
		for name := range render(t, in) {
			p, err := strconv.Atoi(name[1:])
			if err != nil {
				t.Fatalf("element %q", name)
			}
			if _, ok := known[p]; !ok {
				t.Errorf("%q: %s is not in the reference tables", model, name)
			}
		}
	}
}
