package profile

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/pnpbox/pnpbox/appliance"
)

// familyAccountLayouts is how many accounts each family's P-value list
// holds (account.go); no row may promise more.
var familyAccountLayouts = map[Family]int{GXP16xx: len(accountPs), GXP17xx: len(accountPs), GXP21xx: len(accountPs), GRP26xx: len(accountPsGRP)}

// TestModelTable runs every row of the model table through the renderer:
// all its accounts and keys are written where the row says, one more of
// either is refused naming the model, and the fixed line keys are left
// alone.
func TestModelTable(t *testing.T) {
	if len(models) < 27 {
		t.Fatalf("%d models, want the 27 of docs/models.md at least", len(models))
	}
	seen := map[string]bool{}
	for _, m := range models {
		t.Run(m.Name, func(t *testing.T) {
			if seen[m.Name] {
				t.Fatal("listed twice")
			}
			seen[m.Name] = true
			if m.Source == "" {
				t.Error("no source")
			}
			if n, ok := familyAccountLayouts[m.Family]; !ok || m.Accounts < 1 || m.Accounts > n {
				t.Errorf("family %q, %d accounts: the family's layout holds %d", m.Family, m.Accounts, n)
			}
			if m.LineVPKs > 0 && m.VPKs > 0 && m.VPKs <= m.LineVPKs {
				t.Errorf("VPKs %d <= line VPKs %d", m.VPKs, m.LineVPKs)
			}
			if m.Family == GRP26xx && m.VPKs > 6 {
				t.Errorf("GRP VPKs %d: only VPK1-6 have sourced P-values", m.VPKs)
			}
			for _, name := range []string{m.Name, strings.ToLower(m.Name), " " + m.Name + "P "} {
				if got, ok := LookupModel(name); !ok || got.Name != m.Name {
					t.Errorf("LookupModel(%q) = %q, %v", name, got.Name, ok)
				}
			}

			// Every account and every key the row allows.
			a := appliance.Assignment{Extension: "201", Password: "pw", Accounts: extraAccounts(m.Accounts - 1)}
			for i := range m.Keys() {
				a.Keys = append(a.Keys, appliance.Key{Type: "speed_dial", Value: fmt.Sprintf("v%d", i), Account: i%m.Accounts + 1})
			}
			if err := CheckAssignment(m.Name, a); err != nil {
				t.Fatalf("CheckAssignment: %v", err)
			}
			got := render(t, input(t, m.Name, a))
			for i := range m.Accounts {
				ap := m.accountP(i)
				if got["P"+strconv.Itoa(ap.Active)] != "1" {
					t.Errorf("account %d: P%d = %q, want 1", i+1, ap.Active, got["P"+strconv.Itoa(ap.Active)])
				}
			}
			for i, s := range m.slots() {
				p := s.pnums()
				want := map[int]string{p.Mode: "0", p.Account: strconv.Itoa(i % m.Accounts), p.Value: fmt.Sprintf("v%d", i)}
				for pn, w := range want {
					if g := got["P"+strconv.Itoa(pn)]; g != w {
						t.Errorf("keys[%d] on %s: P%d = %q, want %q", i, s, pn, g, w)
					}
				}
				if !s.vpk && s.n > m.MPKs || s.vpk && (s.n <= m.LineVPKs || s.n > m.VPKs) {
					t.Errorf("keys[%d] on %s, which the row does not have", i, s)
				}
			}
			// The fixed line VPKs stay the phone's own.
			for n := 1; n <= m.LineVPKs; n++ {
				p := slot{vpk: true, n: n}.pnums()
				for _, pn := range []int{p.Mode, p.Account, p.Label, p.Value} {
					if v, ok := got["P"+strconv.Itoa(pn)]; ok {
						t.Errorf("P%d (line key VPK%d) = %q, want it left alone", pn, n, v)
					}
				}
			}

			// One key more and one account more are refused, naming the
			// model.
			more := a
			more.Keys = append(append([]appliance.Key(nil), a.Keys...), appliance.Key{Type: "voicemail"})
			checkRefused(t, CheckAssignment(m.Name, more), "keys", m.Name)
			more = a
			more.Accounts = extraAccounts(m.Accounts)
			checkRefused(t, CheckAssignment(m.Name, more), "accounts", m.Name)
		})
	}
}

func checkRefused(t *testing.T, err error, field, model string) {
	t.Helper()
	var fe *appliance.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("error = %v, want a *appliance.FieldError on %s", err, field)
	}
	if fe.Field != field || !strings.Contains(fe.Msg, model) {
		t.Errorf("error = %q, want field %q and a message naming %s", err, field, model)
	}
}

// TestGXP2170Keys is fault 5: a GXP2170 (48 on-screen keys, 12 of them
// fixed line keys, no physical ones) given two BLF keys gets them on VPK13
// and VPK14, not on GXP2130 MPK P-values it does not have.
func TestGXP2170Keys(t *testing.T) {
	a := appliance.Assignment{Extension: "201", Password: "pw", Keys: []appliance.Key{
		{Type: "blf", Value: "202", Label: "Bob"}, {Type: "blf", Value: "203", Label: "Eve"}}}
	if err := CheckAssignment("GXP2170", a); err != nil {
		t.Fatal(err)
	}
	got := render(t, input(t, "GXP2170", a))
	// VPK13 = P23824-P23827, VPK14 = P23828-P23831 (reference §2.3: VPK n
	// ≥ 7 at 23800+4(n-7)).
	for p, want := range map[string]string{
		"P23824": "1", "P23825": "0", "P23826": "Bob", "P23827": "202",
		"P23828": "1", "P23829": "0", "P23830": "Eve", "P23831": "203",
		"P23832": "-1", "P23964": "-1", // VPK15 and VPK48: None, written in sequence
	} {
		if got[p] != want {
			t.Errorf("%s = %q, want %q", p, got[p], want)
		}
	}
	for _, p := range []string{"P323", "P301", "P303", "P353", "P1369", "P1440", "P23800", "P23820", "P23968"} {
		if v, ok := got[p]; ok {
			t.Errorf("%s = %q: not a key the box sets on a GXP2170", p, v)
		}
	}
}

// TestUnknownModel checks a model not in the table: account 1, codecs and
// site settings are written; keys and extra accounts are refused naming
// the model, and nothing is laid out on a guessed model.
func TestUnknownModel(t *testing.T) {
	for _, model := range []string{"", "GXP9999", "DP750"} {
		t.Run(model, func(t *testing.T) {
			a := appliance.Assignment{Extension: "201", Password: "pw", Codecs: []string{"G722"}}
			if err := CheckAssignment(model, a); err != nil {
				t.Fatal(err)
			}
			got := render(t, input(t, model, a))
			for p, want := range map[string]string{"P271": "1", "P35": "201", "P34": "pw", "P57": "9", "P47": "pbx.example.com", "P30": "ntp.example.com"} {
				if got[p] != want {
					t.Errorf("%s = %q, want %q", p, got[p], want)
				}
			}
			for p := range got {
				n, _ := strconv.Atoi(p[1:])
				if n >= 300 && n < 400 || n >= 401 && n < 2000 && n != 1362 && n != 1414 || n >= 23800 {
					t.Errorf("%s written for a model not in the table", p)
				}
			}
			name := model
			if name == "" {
				name = `set "model"`
			}
			k := a
			k.Keys = []appliance.Key{{Type: "blf", Value: "202"}}
			checkRefused(t, CheckAssignment(model, k), "keys", name)
			_, err := Render(input(t, model, k))
			checkRefused(t, err, "keys", name)
			x := a
			x.Accounts = extraAccounts(1)
			checkRefused(t, CheckAssignment(model, x), "accounts", name)
		})
	}
}

func TestCheckAssignmentNormalizes(t *testing.T) {
	// CheckAssignment takes the assignment as sent: it normalizes first.
	err := CheckAssignment("GXP2140", appliance.Assignment{Extension: " 201 ", Codecs: []string{"pcmu"}})
	if err != nil {
		t.Fatal(err)
	}
	checkRefused(t, CheckAssignment("GXP2140", appliance.Assignment{Extension: "2 01"}), "extension", "")
}

func TestURLForm(t *testing.T) {
	for model, want := range map[string]string{
		"GXP1628": appliance.URLFormFile, "GXP1782": appliance.URLFormFile,
		"GXP2130": appliance.URLFormFile, "gxp2170": appliance.URLFormFile,
		"GRP2612W": appliance.URLFormFolder, "GRP2601": appliance.URLFormFolder, "GRP2650": appliance.URLFormFolder,
	} {
		if got, ok := URLForm(model); got != want || !ok {
			t.Errorf("URLForm(%q) = %q, %v; want %q", model, got, ok, want)
		}
	}
	for _, model := range []string{"", "DP750", "GXP9999"} {
		if got, ok := URLForm(model); got != "" || ok {
			t.Errorf("URLForm(%q) = %q, %v; want \"\", false", model, got, ok)
		}
	}
	for _, m := range models {
		want := appliance.URLFormFile
		if m.Family == GRP26xx {
			want = appliance.URLFormFolder
		}
		if got, _ := URLForm(m.Name); got != want {
			t.Errorf("URLForm(%s) = %q, want %q", m.Name, got, want)
		}
	}
}

// TestGRPAccount5 checks the GRP's fifth account lands in the 700 block
// (FPBX-GRP), not the GXP's 1700 block.
func TestGRPAccount5(t *testing.T) {
	got := render(t, input(t, "GRP2615", appliance.Assignment{Extension: "201", Password: "pw", Accounts: extraAccounts(4)}))
	for p, want := range map[string]string{"P701": "1", "P704": "205", "P706": "pw205", "P707": "Line 205", "P717": "Line 205", "P726": "*97", "P751": "0"} {
		if got[p] != want {
			t.Errorf("%s = %q, want %q", p, got[p], want)
		}
	}
	for _, p := range []string{"P1701", "P1704", "P1706"} {
		if v, ok := got[p]; ok {
			t.Errorf("%s = %q on a GRP", p, v)
		}
	}
}

// TestModelsDoc checks that docs/models.md's table is the model table:
// every row, its counts, URL form, sources and note.
func TestModelsDoc(t *testing.T) {
	b, err := os.ReadFile("../../docs/models.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "| GXP") && !strings.HasPrefix(line, "| GRP") {
			continue
		}
		var cells []string
		for _, c := range strings.Split(strings.Trim(line, "|"), " | ") {
			cells = append(cells, strings.TrimSpace(c))
		}
		if _, dup := rows[cells[0]]; dup {
			t.Errorf("%s: two rows", cells[0])
		}
		rows[cells[0]] = cells
	}
	for _, m := range models {
		form, _ := URLForm(m.Name)
		note := m.Note
		if note == "" {
			note = "–"
		}
		want := []string{m.Name, string(m.Family), strconv.Itoa(m.Accounts), strconv.Itoa(m.LineVPKs), strconv.Itoa(m.MPKs),
			strconv.Itoa(m.VPKs), strconv.Itoa(m.Keys()), form, m.Source, note}
		got, ok := rows[m.Name]
		if !ok {
			t.Errorf("%s: no row in docs/models.md", m.Name)
			continue
		}
		if strings.Join(got, " | ") != strings.Join(want, " | ") {
			t.Errorf("docs/models.md row\n got  %s\n want %s", strings.Join(got, " | "), strings.Join(want, " | "))
		}
		delete(rows, m.Name)
	}
	for name := range rows {
		t.Errorf("docs/models.md has a row for %s, which the model table lacks", name)
	}
}

func TestChooseURLForm(t *testing.T) {
	file, folder := appliance.URLFormFile, appliance.URLFormFolder
	for _, tc := range []struct{ model, phone, site, want string }{
		{"GXP2140", "", "", file},
		{"GRP2612W", "", "", folder},
		{"GRP2612W", "", URLFormAuto, folder},
		{"GRP2612W", "", file, file},         // the site overrides the family
		{"GXP2140", folder, file, folder},    // the phone overrides the site
		{"GRP2612", URLFormAuto, "", folder}, // auto defers
		{"DP750", "", "", file},              // no family: the vendor guide's form
		{"", "", folder, folder},
	} {
		if got := ChooseURLForm(tc.model, tc.phone, tc.site); got != tc.want {
			t.Errorf("ChooseURLForm(%q, %q, %q) = %q, want %q", tc.model, tc.phone, tc.site, got, tc.want)
		}
	}
}
