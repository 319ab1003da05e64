package provision

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/appliance/assigncsv"
)

var policyNow = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

func TestIsPending(t *testing.T) {
	for _, tc := range []struct {
		state      appliance.State
		assigned   bool
		notifiedAt time.Duration // before now
		want       bool
	}{
		{appliance.StateDiscovered, false, 0, false},
		{appliance.StateAssigned, true, 0, true},
		{appliance.StateAssigned, false, 0, false}, // a record out of step: no assignment, nothing to send
		{appliance.StateFailed, true, 0, true},
		{appliance.StateNotified, true, time.Minute, false},
		{appliance.StateNotified, true, staleNotified + time.Second, true},
		{appliance.StateDownloaded, true, time.Hour, false},
		{appliance.StateProvisioned, true, time.Hour, false},
	} {
		p := &appliance.Phone{State: tc.state, NotifiedAt: policyNow.Add(-tc.notifiedAt)}
		if got := IsPending(p, tc.assigned, policyNow); got != tc.want {
			t.Errorf("IsPending(%s, assigned %v, notified %v ago) = %v, want %v", tc.state, tc.assigned, tc.notifiedAt, got, tc.want)
		}
	}
}

func TestMayNotify(t *testing.T) {
	gs := appliance.MAC{0x00, 0x0b, 0x82, 1, 2, 3}
	other := appliance.MAC{0x00, 0x15, 0x65, 1, 2, 3}
	seen := func(m appliance.MAC, vendor string) *appliance.Phone {
		return &appliance.Phone{MAC: m, Vendor: vendor, FirstSeen: policyNow, Dialog: &appliance.Dialog{CallID: "c"}}
	}
	site := appliance.Settings{PhoneSettings: appliance.PhoneSettings{SIPServer: "pbx.example.net"}}
	a := &appliance.Assignment{Extension: "201"}
	for _, tc := range []struct {
		name     string
		p        *appliance.Phone
		a        *appliance.Assignment
		inFlight bool
		site     appliance.Settings
		want     error
	}{
		{"ok", seen(gs, "Grandstream"), a, false, site, nil},
		{"no assignment", seen(gs, "Grandstream"), nil, false, site, ErrNoAssignment},
		{"pre-staged", &appliance.Phone{MAC: gs}, a, false, site, ErrNotSeen},
		{"in flight", seen(gs, "Grandstream"), a, true, site, ErrBusy},
		{"denied", seen(gs, "Grandstream"), a, false, appliance.Settings{PhoneSettings: appliance.PhoneSettings{SIPServer: "pbx"}, AdmissionSettings: appliance.AdmissionSettings{DenyMACs: []string{"000B82"}}}, ErrDenied},
		{"other vendor", seen(other, "Yealink"), a, false, site, ErrUnsupported},
		{"OEM in a Grandstream OUI", seen(gs, "OEM"), a, false, site, nil},
		{"silent vendor outside the OUIs", seen(other, ""), a, false, site, ErrUnsupported},
		{"no SIP server", seen(gs, "Grandstream"), a, false, appliance.Settings{}, ErrNoSIPServer},
		{"assignment's own SIP server", seen(gs, "Grandstream"), &appliance.Assignment{Extension: "201", SIPServer: "pbx"}, false, appliance.Settings{}, nil},
	} {
		err := MayNotify(tc.p, tc.a, tc.inFlight, tc.site)
		if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: MayNotify = %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestIsPoolCandidate(t *testing.T) {
	gs := appliance.MAC{0x00, 0x0b, 0x82, 1, 2, 3}
	p := func(s appliance.State) *appliance.Phone {
		return &appliance.Phone{MAC: gs, Vendor: "Grandstream", State: s, FirstSeen: policyNow, Dialog: &appliance.Dialog{}}
	}
	deny := appliance.Settings{AdmissionSettings: appliance.AdmissionSettings{DenyMACs: []string{"000B82"}}}
	for _, tc := range []struct {
		name     string
		p        *appliance.Phone
		assigned bool
		site     appliance.Settings
		want     bool
	}{
		{"discovered", p(appliance.StateDiscovered), false, appliance.Settings{}, true},
		{"assigned", p(appliance.StateAssigned), true, appliance.Settings{}, false},
		{"pre-staged", &appliance.Phone{MAC: gs, State: appliance.StateDiscovered}, false, appliance.Settings{}, false},
		{"denied", p(appliance.StateDiscovered), false, deny, false},
		{"other vendor", &appliance.Phone{MAC: gs, Vendor: "Snom", State: appliance.StateDiscovered, FirstSeen: policyNow, Dialog: &appliance.Dialog{}}, false, appliance.Settings{}, false},
	} {
		if got := IsPoolCandidate(tc.p, tc.assigned, tc.site); got != tc.want {
			t.Errorf("%s: IsPoolCandidate = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestPlanPool(t *testing.T) {
	m := func(i byte) appliance.MAC { return appliance.MAC{0, 0x0b, 0x82, 0, 0, i} }
	pool, err := appliance.ParsePool("200-203")
	if err != nil {
		t.Fatal(err)
	}
	takenSet := func(exts ...string) func(string) bool {
		set := map[string]bool{}
		for _, e := range exts {
			set[e] = true
		}
		return func(e string) bool { return set[e] }
	}
	for _, tc := range []struct {
		name    string
		cands   []appliance.MAC
		max     int
		taken   func(string) bool
		want    PoolPlan
		summary string
	}{
		{"all fit, taken skipped", []appliance.MAC{m(1), m(2)}, 0, takenSet("200"),
			PoolPlan{Grants: []Grant{{m(1), "201"}, {m(2), "202"}}, Left: []appliance.MAC{}, Reason: "pool_max_per_press (0) reached; press again"},
			"2 extensions handed out (201 … 202)"},
		{"cap per press", []appliance.MAC{m(1), m(2), m(3)}, 2, takenSet(),
			PoolPlan{Grants: []Grant{{m(1), "200"}, {m(2), "201"}}, Left: []appliance.MAC{m(3)}, Reason: "pool_max_per_press (2) reached; press again"},
			"2 extensions handed out (200 … 201); 1 phones left without one: pool_max_per_press (2) reached; press again"},
		{"exhausted", []appliance.MAC{m(1), m(2), m(3)}, 0, takenSet("200", "201", "203"),
			PoolPlan{Grants: []Grant{{m(1), "202"}}, Left: []appliance.MAC{m(2), m(3)}, Exhausted: true, Reason: "no free extension left in the pool 200-203"},
			"1 extensions handed out (202 … 202); 2 phones left without one: no free extension left in the pool 200-203"},
	} {
		got := PlanPool(pool, tc.cands, tc.max, tc.taken)
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("%s: PlanPool (-want +got):\n%s", tc.name, d)
		}
		if s := got.Summary(); s != tc.summary {
			t.Errorf("%s: Summary = %q, want %q", tc.name, s, tc.summary)
		}
	}
}

func TestPlanImport(t *testing.T) {
	known := appliance.MAC{0x00, 0x0b, 0x82, 0, 0, 1}
	base := importBase{
		site:        appliance.Settings{PhoneSettings: appliance.PhoneSettings{SIPServer: "pbx"}},
		assignments: map[appliance.MAC]appliance.Assignment{known: {Extension: "201", Password: "pw-201-secret", DisplayName: "Old"}},
		models:      map[appliance.MAC]string{known: "GXP2140"},
	}
	const head = "mac,extension,password,display_name\n"
	for _, tc := range []struct {
		name    string
		csv     string
		want    ImportResult
		wantBad []assigncsv.RowError
	}{
		{"create, update, unchanged, blank", head +
			"000B82000002,202,pw-202-secret,New\n" +
			"000B82000001,201,,Renamed\n" +
			"000B82000003,,,\n",
			ImportResult{Rows: 3, Created: 1, Updated: 1, Skipped: 1, Changes: []ImportChange{
				{Line: 2, MAC: appliance.MAC{0x00, 0x0b, 0x82, 0, 0, 2}, Action: "create"},
				{Line: 3, MAC: known, Action: "update", Fields: []string{"display_name"}}}}, nil},
		{"no change", head + "000B82000001,201,,Old\n", ImportResult{Rows: 1, Unchanged: 1, Changes: []ImportChange{}}, nil},
		{"shared extension: allowed, with a warning", head + "000B82000002,201,pw-202-secret,Also 201\n",
			ImportResult{Rows: 1, Created: 1, Changes: []ImportChange{{Line: 2, MAC: appliance.MAC{0x00, 0x0b, 0x82, 0, 0, 2}, Action: "create"}},
				Warnings: []ImportWarning{{Line: 2, MAC: appliance.MAC{0x00, 0x0b, 0x82, 0, 0, 2}, Field: "extension",
					Warning: "extension 201 is also assigned to 000B82000001: allowed, every phone on it rings"}}}, nil},
		{"every bad row, by line", head +
			"000B82000002,201,pw-202-secret,Takes 201\n" +
			"nonsense,203,pw-203-secret,x\n" +
			"000B82000004,204,,No password\n",
			ImportResult{Rows: 3, Changes: []ImportChange{}}, []assigncsv.RowError{
				{Line: 3, MAC: "nonsense", Field: "mac", Error: `bad MAC address: "nonsense": unexpected character 'n'`},
				{Line: 4, MAC: "000B82000004", Field: "password", Error: "required for a phone without an assignment"}}},
	} {
		file, err := assigncsv.Read(strings.NewReader(tc.csv))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		_, res, bad := planImport(file, base)
		if d := cmp.Diff(tc.want, res); d != "" {
			t.Errorf("%s: result (-want +got):\n%s", tc.name, d)
		}
		if d := cmp.Diff(tc.wantBad, bad); d != "" {
			t.Errorf("%s: bad rows (-want +got):\n%s", tc.name, d)
		}
	}
}
