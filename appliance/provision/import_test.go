package provision

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/appliance/assigncsv"
)

const header = "mac,extension,password,display_name,auth_id,sip_server,codecs,keys,model\n"

func (f *fixture) importCSV(t *testing.T, csv string, dryRun bool) (ImportResult, error) {
	t.Helper()
	return f.c.ImportCSV(strings.NewReader(csv), dryRun)
}

func (f *fixture) export(t *testing.T, opt ExportOptions) string {
	t.Helper()
	var buf bytes.Buffer
	if err := f.c.ExportCSV(&buf, opt); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestImportCSV(t *testing.T) {
	f := newFixture(t)
	seen := mac(t, "000B82000001")
	f.c.discover(disc(seen, "198.18.0.100", "c1"))
	csv := header +
		"000B82000001,201,pw-201-secret,Reception,,,PCMU;G722,blf:202:Sales|speed_dial:+15551234:Office\\: main,\n" +
		"00:0b:82:00:00:02,202,pw-202-secret,\"Lager, Süd\",a202,pbx.example.net:5070,,,GXP2160\n"
	commits := f.store.Commits()
	res, err := f.importCSV(t, csv, false)
	if err != nil {
		t.Fatal(err)
	}
	want := ImportResult{Rows: 2, Created: 2, Changes: []ImportChange{
		{Line: 2, MAC: seen, Action: "create"}, {Line: 3, MAC: mac(t, "000B82000002"), Action: "create"}}}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	if n := f.store.Commits() - commits; n != 1 {
		t.Errorf("%d commits for one import, want 1", n)
	}
	e, _ := f.c.Phone(seen)
	wantA := appliance.Assignment{Extension: "201", Password: "pw-201-secret", DisplayName: "Reception", Codecs: []string{"PCMU", "G722"},
		Keys: []appliance.Key{{Type: "blf", Value: "202", Label: "Sales"}, {Type: "speed_dial", Value: "+15551234", Label: "Office: main"}}}
	if diff := cmp.Diff(&wantA, e.Assignment); diff != "" {
		t.Errorf("assignment (-want +got):\n%s", diff)
	}
	if e.Phone.State != appliance.StateAssigned {
		t.Errorf("seen phone is %s after the import, want assigned", e.Phone.State)
	}
	e2, _ := f.c.Phone(mac(t, "000B82000002"))
	if e2.Phone.Seen() || e2.Phone.State != appliance.StateAssigned || e2.Assignment.Model != "GXP2160" || e2.Phone.Token == "" {
		t.Errorf("pre-staged by the import: %+v", e2)
	}
	if got := f.events(t, appliance.EventImport); len(got) != 1 || !strings.Contains(got[0], "2 created") {
		t.Errorf("import events %q", got)
	}
}

func TestImportCSVRejects(t *testing.T) {
	f := newFixture(t)
	other := mac(t, "000B820000AA")
	a := assignment
	a.Extension = "299"
	if _, err := f.c.Assign(other, a); err != nil { // holds 299; not in the files below
		t.Fatal(err)
	}
	f.settings(t, `{"deny_macs":["000B8200DE"]}`)
	for _, tc := range []struct {
		name string
		csv  string
		want []assigncsv.RowError
	}{
		{"every bad row, with its line", header +
			"000B82000001,201,pw,,,,,,\n" + // good
			"nonsense,202,pw,,,,,,\n" +
			"000B82000003,,pw,,,,,,\n" +
			"000B82000004,204,,,,,,,\n" +
			"000B82000005,2 05,pw,,,,,,\n" +
			"000B82000006,206,pw,,,,GSM,,\n" +
			"000B82000007,207,pw,,,,,flash:1,\n" +
			"000B82000008,208,pw,,,bad host!,,,\n" +
			"000B82000009,209,pw,,,,,\"blf:1:a\\\",\n" +
			"000B8200DE01,210,pw,,,,,,\n" +
			"000B82000001,211,pw,,,,,,\n" +
			"000B82000012,201,pw,,,,,,\n" +
			"000B82000013,299,pw,,,,,,\n" +
			"000B82000014,214,pw,,,,,,GXP 2140\n" +
			"000B82000015,215,pw\n",
			[]assigncsv.RowError{
				{Line: 3, MAC: "nonsense", Field: "mac", Error: `bad MAC address: "nonsense": unexpected character 'n'`},
				{Line: 4, MAC: "000B82000003", Field: "extension", Error: "required"},
				{Line: 5, MAC: "000B82000004", Field: "password", Error: "required for a phone without an assignment"},
				{Line: 6, MAC: "000B82000005", Field: "extension", Error: `" " is not allowed in a SIP user name (letters, digits and -_.!~*'()&=+$,;?/ only)`},
				{Line: 7, MAC: "000B82000006", Field: "codecs[0]", Error: `unknown codec "GSM" (known: PCMU, PCMA, G722, G729, G726-32, G723, iLBC, OPUS)`},
				{Line: 8, MAC: "000B82000007", Field: "keys[0].type", Error: `unknown key type "flash" (known: blf, call_log, call_park, call_return, conference, dnd, dtmf, eventlist_blf, forward, information, intercom, ldap, menu, message, monitored_call_park, multicast_paging, none, presence, record, redial, speed_dial, speed_dial_active, transfer, voicemail, xml_app)`},
				{Line: 9, MAC: "000B82000008", Field: "sip_server", Error: `"bad host!" is not a host name or IP address`},
				{Line: 10, MAC: "000B82000009", Field: "keys", Error: "key 1: ends with a lone backslash"},
				{Line: 11, MAC: "000B8200DE01", Field: "mac", Error: "this MAC is on the deny list (deny_macs)"},
				{Line: 12, MAC: "000B82000001", Field: "mac", Error: "000B82000001 is also on line 2"},
				{Line: 13, MAC: "000B82000012", Field: "extension", Error: "extension 201 is also on line 2"},
				{Line: 14, MAC: "000B82000013", Field: "extension", Error: "extension 299 is already assigned to 000B820000AA, which this file does not list"},
				{Line: 15, MAC: "000B82000014", Field: "model", Error: `"GXP 2140" is not a model name`},
				{Line: 16, MAC: "000B82000015", Error: "has 3 fields, the header has 9"},
			}},
		{"model limits", "mac,extension,password,model,keys\n000B82000001,201,pw,GXP2130," + strings.Repeat("blf:1|", 60) + "blf:1\n",
			[]assigncsv.RowError{{Line: 2, MAC: "000B82000001", Field: "keys", Error: "GXP2130 holds 17 keys (8 physical MPKs, then 9 on-screen VPKs after the 3 line keys); have 61"}}},
		{"unknown column", "mac,extension,colour\n", []assigncsv.RowError{{Line: 1, Error: `unknown column "colour" (known: mac, extension, password, display_name, auth_id, sip_server, codecs, keys, model)`}}},
		{"syntax error", "mac,extension\n000B82000001,\"201\n", []assigncsv.RowError{{Line: 2, Error: "column 19: extraneous or missing \" in quoted-field"}}},
		{"no extension column", "mac,password\n000B82000001,pw\n", []assigncsv.RowError{{Line: 2, MAC: "000B82000001", Field: "extension", Error: "required (the file has no extension column)"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.export(t, ExportOptions{Passwords: true})
			for _, dry := range []bool{true, false} {
				_, err := f.importCSV(t, tc.csv, dry)
				var ie *ImportError
				if !errors.As(err, &ie) {
					t.Fatalf("dry run %v: err %v, want an *ImportError", dry, err)
				}
				got := ie.Rows
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("dry run %v: rows (-want +got):\n%s", dry, diff)
				}
			}
			if after := f.export(t, ExportOptions{Passwords: true}); after != before {
				t.Errorf("a rejected file changed assignments:\n%s\n---\n%s", before, after)
			}
		})
	}
}

func TestImportDryRunAndUpdates(t *testing.T) {
	f := newFixture(t)
	if _, err := f.importCSV(t, header+"000B82000001,201,pw-1,One,,,,,\n000B82000002,202,pw-2,Two,,,,,\n", false); err != nil {
		t.Fatal(err)
	}
	before := f.export(t, ExportOptions{Passwords: true})
	commits := f.store.Commits()
	// Swap the two extensions (legal: both phones are in the file),
	// rename one, leave passwords alone, add a third.
	csv := "mac,extension,display_name,password\n000B82000001,202,One,\n000B82000002,201,Second,\n000B82000003,203,Three,pw-3\n"
	res, err := f.importCSV(t, csv, true)
	if err != nil {
		t.Fatal(err)
	}
	want := ImportResult{DryRun: true, Rows: 3, Created: 1, Updated: 2, Changes: []ImportChange{
		{Line: 2, MAC: mac(t, "000B82000001"), Action: "update", Fields: []string{"extension"}},
		{Line: 3, MAC: mac(t, "000B82000002"), Action: "update", Fields: []string{"extension", "display_name"}},
		{Line: 4, MAC: mac(t, "000B82000003"), Action: "create"},
	}}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("dry run (-want +got):\n%s", diff)
	}
	if f.store.Commits() != commits || f.export(t, ExportOptions{Passwords: true}) != before {
		t.Fatal("a dry run changed something")
	}
	res, err = f.importCSV(t, csv, false)
	if err != nil {
		t.Fatal(err)
	}
	want.DryRun = false
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("import (-want +got):\n%s", diff)
	}
	e, _ := f.c.Phone(mac(t, "000B82000002"))
	if e.Assignment.Extension != "201" || e.Assignment.Password != "pw-2" {
		t.Errorf("updated assignment %+v: the empty password must keep the stored one", e.Assignment)
	}
}

// TestExportImportRoundTrip: export → import changes nothing, with or
// without passwords; and an export with unassigned phones imports as no
// change too.
func TestExportImportRoundTrip(t *testing.T) {
	f := newFixture(t)
	f.c.discover(disc(mac(t, "000B82000009"), "198.18.0.109", "c9")) // no assignment
	m := mac(t, "000B82000001")
	full := appliance.Assignment{Extension: "201", Password: `p,w"|:1`, DisplayName: "Müller, \"Empfang\"", AuthID: "a201",
		SIPServer: "pbx.example.net:5070", Codecs: []string{"PCMU", "G722"}, Model: "GXP2160",
		Keys:     []appliance.Key{{Type: "blf", Value: "202", Label: "Sales|EMEA: 1"}, {Type: "none"}, {Type: "speed_dial", Value: "+1555", Account: 2}},
		Accounts: []appliance.Account{{Extension: "211", Password: "pw-211"}}, PValues: map[string]string{"P8345": "1"}}
	if _, err := f.c.Assign(m, full); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.Assign(mac(t, "000B82000002"), assignment); err != nil {
		t.Fatal(err)
	}
	for _, opt := range []ExportOptions{{}, {Passwords: true}, {Unassigned: true}} {
		csv := f.export(t, opt)
		if strings.Contains(csv, "s3cret") != opt.Passwords {
			t.Errorf("%+v: passwords in the export: %v", opt, !opt.Passwords)
		}
		if strings.Contains(csv, "000B82000009") != opt.Unassigned {
			t.Errorf("%+v: unassigned phone listed: %v\n%s", opt, !opt.Unassigned, csv)
		}
		commits := f.store.Commits()
		res, err := f.importCSV(t, csv, false)
		if err != nil {
			t.Fatalf("%+v: %v\n%s", opt, err, csv)
		}
		if res.Unchanged != 2 || len(res.Changes) != 0 || f.store.Commits() != commits {
			t.Errorf("%+v: re-import changed something: %+v", opt, res)
		}
	}
	e, _ := f.c.Phone(m)
	if diff := cmp.Diff(&full, e.Assignment); diff != "" {
		t.Errorf("after round trips (-want +got):\n%s", diff)
	}
	want := header + "000B82000001,201,,\"Müller, \"\"Empfang\"\"\",a201,pbx.example.net:5070,PCMU;G722,blf:202:Sales\\|EMEA\\: 1|none|speed_dial:+1555::2,GXP2160\n" +
		"000B82000002,201,,Reception,,pbx.example.net,,,\n"
	if got := f.export(t, ExportOptions{}); got != want {
		t.Errorf("export:\n%s\nwant:\n%s", got, want)
	}
}

func TestImportAutoModeNotifies(t *testing.T) {
	f := newFixture(t)
	f.settings(t, `{"provision_mode":"auto"}`)
	f.c.discover(disc(mac(t, "000B82000001"), "198.18.0.100", "c1"))
	if _, err := f.importCSV(t, header+"000B82000001,201,pw,,,,,,\n000B82000002,202,pw,,,,,,\n", false); err != nil {
		t.Fatal(err)
	}
	f.c.notifWG.Wait()
	if n := f.n.Count(); n != 1 {
		t.Errorf("%d NOTIFYs, want 1 (the seen phone)", n)
	}
}

// BenchmarkImportCSV10000 imports 10,000 new assignments in one file
// (the bar: under 2 s).
func BenchmarkImportCSV10000(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString(header)
	for i := range 10000 {
		fmt.Fprintf(&buf, "000B82%06X,%d,pw-%d-secret,Phone %d,,,PCMU;G722,blf:%d:Next|speed_dial:+1555%04d:Desk,GXP2140\n", i+1, 10000+i, i, i, 10001+i, i)
	}
	csv := buf.Bytes()
	var total time.Duration
	for b.Loop() {
		b.StopTimer()
		f := newFixture(b)
		b.StartTimer()
		start := time.Now()
		res, err := f.c.ImportCSV(bytes.NewReader(csv), false)
		total += time.Since(start)
		if err != nil || res.Created != 10000 {
			b.Fatalf("import: %+v %v", res.Created, err)
		}
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/import")
}
