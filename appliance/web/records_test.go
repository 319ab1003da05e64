package web

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pnpbox/pnpbox/appliance"
)

func TestEvents(t *testing.T) {
	b := newTestBox(t)
	b.admin.Call(t, "PUT", "/api/phones/000B82112233/assignment", `{"extension":"201","password":"pw-201-secret"}`, nil)
	b.admin.Call(t, "PUT", "/api/phones/000B82445566/assignment", `{"extension":"202","password":"pw-202-secret"}`, nil)
	b.admin.Call(t, "PUT", "/api/settings", `{"language":"de"}`, nil)

	var all []appliance.Event
	if code := b.admin.Call(t, "GET", "/api/events", "", &all); code != 200 || len(all) < 3 {
		t.Fatalf("events: %d %+v", code, all)
	}
	if !slices.IsSortedFunc(all, func(a, b appliance.Event) int { return int(a.Seq) - int(b.Seq) }) {
		t.Errorf("events not in order: %+v", all)
	}
	var one []appliance.Event
	b.admin.Call(t, "GET", "/api/events?mac=00-0b-82-44-55-66", "", &one)
	if len(one) == 0 || slices.ContainsFunc(one, func(e appliance.Event) bool { return e.MAC.String() != "000B82445566" }) {
		t.Errorf("events of one phone: %+v", one)
	}
	var lim []appliance.Event
	if b.admin.Call(t, "GET", "/api/events?limit=1", "", &lim); len(lim) != 1 {
		t.Errorf("limit=1: %d events", len(lim))
	}
	last := all[len(all)-1].Seq
	var none []appliance.Event
	if code := b.admin.Call(t, "GET", fmt.Sprintf("/api/events?since=%d", last), "", &none); code != 200 || none == nil || len(none) != 0 {
		t.Errorf("since the last event: %d %+v; want []", code, none)
	}
	var since []appliance.Event
	b.admin.Call(t, "GET", fmt.Sprintf("/api/events?since=%d", last-1), "", &since)
	if len(since) != 1 || since[0].Seq != last {
		t.Errorf("since %d: %+v", last-1, since)
	}
	var after []appliance.Event
	b.admin.Call(t, "GET", "/api/events?since="+time.Now().Add(time.Hour).UTC().Format(time.RFC3339), "", &after)
	if len(after) != 0 {
		t.Errorf("since an hour from now: %+v", after)
	}
	for _, q := range []string{"mac=nonsense", "limit=-1", "limit=many", "since=yesterday"} {
		var e apiError
		field, _, _ := strings.Cut(q, "=")
		if code := b.admin.Call(t, "GET", "/api/events?"+q, "", &e); code != 400 || !strings.HasPrefix(e.Error, field+":") {
			t.Errorf("?%s: %d %+v; want 400 about %s", q, code, e, field)
		}
	}
}

func TestCSVImportExport(t *testing.T) {
	b := newTestBox(t)
	csv := "mac,extension,password,display_name,keys,model\n" +
		"000B82000001,201,pw-201-secret,Reception,blf:202:Sales,GXP2140\n" +
		"000B82000002,202,pw-202-secret,\"Lager, Süd\",,\n"
	bad := "mac,extension,password\nxyz,201,pw\n000B82000003,,pw\n"
	for _, tc := range []struct {
		name, ctype, path, body string
		code                    int
		want                    string
	}{
		{"not CSV", "application/json", "/api/assignments/import", csv, 415, "text/csv"},
		{"bad rows", "text/csv", "/api/assignments/import", bad, 400, `"rows": [`},
		{"not a CSV file", "text/csv", "/api/assignments/import", "\"unterminated\n", 400, "nothing was imported"},
		{"dry run", "text/csv", "/api/assignments/import?dry_run=1", csv, 200, `"dry_run": true`},
	} {
		res := b.admin.Fetch(t, "POST", tc.path, tc.ctype, strings.NewReader(tc.body))
		if res.Code != tc.code || !strings.Contains(string(res.Body), tc.want) {
			t.Errorf("%s: %d %s; want %d with %q", tc.name, res.Code, res.Body, tc.code, tc.want)
		}
	}
	var rej struct {
		Error string `json:"error"`
		Rows  []struct {
			Line  int    `json:"line"`
			Field string `json:"field"`
		} `json:"rows"`
	}
	b.admin.Fetch(t, "POST", "/api/assignments/import", "text/csv", strings.NewReader(bad)).Decode(&rej)
	if len(rej.Rows) != 2 || rej.Rows[0].Line != 2 || rej.Rows[1].Line != 3 || rej.Rows[1].Field != "extension" || !strings.Contains(rej.Error, "nothing was imported") {
		t.Errorf("rejection: %+v", rej)
	}
	var ps []map[string]any
	if b.admin.Call(t, "GET", "/api/phones", "", &ps); len(ps) != 0 {
		t.Fatalf("a dry run or a rejected file stored phones: %v", ps)
	}

	var res struct {
		Created, Unchanged int
		Changes            []struct {
			Line   int    `json:"line"`
			MAC    string `json:"mac"`
			Action string `json:"action"`
		}
	}
	b.admin.Fetch(t, "POST", "/api/assignments/import", "text/csv; charset=utf-8", strings.NewReader(csv)).Decode(&res)
	if res.Created != 2 || len(res.Changes) != 2 || res.Changes[1].Line != 3 || res.Changes[1].MAC != "000B82000002" || res.Changes[1].Action != "create" {
		t.Errorf("import: %+v", res)
	}
	b.announce("000B82000009", "198.18.0.10") // seen, no assignment

	plain := b.admin.Fetch(t, "GET", "/api/assignments/export", "", nil)
	if plain.Code != 200 || plain.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		plain.Header.Get("Content-Disposition") != `attachment; filename="pnpbox-assignments.csv"` {
		t.Errorf("export: %d %v", plain.Code, plain.Header)
	}
	want := "mac,extension,password,display_name,auth_id,sip_server,codecs,keys,model\n" +
		"000B82000001,201,,Reception,,,,blf:202:Sales,GXP2140\n" +
		"000B82000002,202,,\"Lager, Süd\",,,,,\n"
	if diff := cmp.Diff(want, string(plain.Body)); diff != "" {
		t.Errorf("export without passwords (-want +got):\n%s", diff)
	}
	withPW := b.admin.Fetch(t, "GET", "/api/assignments/export?include_passwords=1", "", nil).Body
	if !bytes.Contains(withPW, []byte("000B82000001,201,pw-201-secret,")) {
		t.Errorf("export with passwords lacks them:\n%s", withPW)
	}
	all := b.admin.Fetch(t, "GET", "/api/assignments/export?include_unassigned=yes", "", nil).Body
	if !bytes.Contains(all, []byte("\n000B82000009,")) {
		t.Errorf("export with unassigned phones lacks the seen one:\n%s", all)
	}
	// Export → import is a no-op, with or without passwords.
	for _, exp := range [][]byte{plain.Body, withPW} {
		res := b.admin.Fetch(t, "POST", "/api/assignments/import", "text/csv", bytes.NewReader(exp))
		var r struct {
			Unchanged int   `json:"unchanged"`
			Changes   []any `json:"changes"`
		}
		res.Decode(&r)
		if res.Code != 200 || r.Unchanged != 2 || len(r.Changes) != 0 {
			t.Errorf("re-import of an export: %d %s", res.Code, res.Body)
		}
	}
}

func TestBackupRestore(t *testing.T) {
	b := newTestBox(t)
	b.admin.Call(t, "PUT", "/api/phones/000B82112233/assignment", `{"extension":"201","password":"pw-201-secret"}`, nil)
	backup := b.admin.Fetch(t, "GET", "/api/backup", "", nil)
	if backup.Code != 200 || backup.Header.Get("Content-Type") != "application/octet-stream" ||
		backup.Header.Get("Content-Disposition") != `attachment; filename="pnpbox-20261128-090000.db"` ||
		backup.Header.Get("Content-Length") != fmt.Sprint(len(backup.Body)) || len(backup.Body) < 4096 {
		t.Fatalf("backup: %d %v, %d bytes", backup.Code, backup.Header, len(backup.Body))
	}

	b.admin.Call(t, "DELETE", "/api/phones/000B82112233/assignment", "", nil)
	b.admin.Call(t, "PUT", "/api/phones/000B82445566/assignment", `{"extension":"202","password":"pw-202-secret"}`, nil)
	var res map[string]any
	if code := b.admin.Call(t, "POST", "/api/restore", string(backup.Body), &res); code != 200 || res["phones"] != 1.0 || res["assignments"] != 1.0 {
		t.Fatalf("restore: %d %v", code, res)
	}
	var ps []map[string]any
	b.admin.Call(t, "GET", "/api/phones", "", &ps)
	if len(ps) != 1 || ps[0]["mac"] != "000B82112233" || ps[0]["state"] != "assigned" {
		t.Errorf("phones after the restore: %v", ps)
	}

	for _, body := range [][]byte{[]byte("not a database"), backup.Body[:len(backup.Body)/2], {}} {
		res := b.admin.Fetch(t, "POST", "/api/restore", "application/octet-stream", bytes.NewReader(body))
		var e apiError
		if res.Decode(&e); res.Code != 400 || e.Error == "" {
			t.Errorf("restore of %d bad bytes: %d %s", len(body), res.Code, res.Body)
		}
	}
	if b.admin.Call(t, "GET", "/api/phones", "", &ps); len(ps) != 1 {
		t.Errorf("a bad backup changed the phones: %v", ps)
	}
}

func TestAlerts(t *testing.T) {
	recovered := appliance.Alert{Time: time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC), Kind: appliance.AlertDatabaseRecovered, Message: "the database was damaged"}
	b := newTestBox(t, func(o *boxOptions) { o.alerts = []appliance.Alert{recovered} })
	var alerts []appliance.Alert
	if code := b.admin.Call(t, "GET", "/api/alerts", "", &alerts); code != 200 {
		t.Fatal(code)
	}
	if diff := cmp.Diff([]appliance.Alert{recovered}, alerts); diff != "" {
		t.Errorf("alerts (-want +got):\n%s", diff)
	}
	var st struct {
		Alerts []appliance.Alert `json:"alerts"`
	}
	if b.admin.Call(t, "GET", "/api/status", "", &st); len(st.Alerts) != 1 {
		t.Errorf("status alerts: %+v", st.Alerts)
	}
	var ack map[string]int
	if code := b.admin.Call(t, "POST", "/api/alerts/ack", "", &ack); code != 200 || ack["acknowledged"] != 1 {
		t.Errorf("ack: %d %v", code, ack)
	}
	res := b.admin.Fetch(t, "GET", "/api/alerts", "", nil)
	if got := strings.TrimSpace(string(res.Body)); got != "[]" {
		t.Errorf("alerts after the ack: %s, want []", got)
	}
	if b.admin.Call(t, "POST", "/api/alerts/ack", "", &ack); ack["acknowledged"] != 0 {
		t.Errorf("second ack: %v", ack)
	}
	var evs []appliance.Event
	b.admin.Call(t, "GET", "/api/events", "", &evs)
	if !slices.ContainsFunc(evs, func(e appliance.Event) bool {
		return e.Kind == appliance.EventAlert && e.Detail == "1 alert(s) acknowledged"
	}) {
		t.Errorf("no event for the ack: %+v", evs)
	}
}

func TestButton(t *testing.T) {
	b := newTestBox(t)
	for _, tt := range []struct {
		body string
		code int
	}{
		{`{"hold_ms":5000}`, 202},
		{"", 202},
		{`{"hold_ms":-1}`, 400},
		{`{"hold_ms":60001}`, 400},
		{`{"hold":1}`, 400},
	} {
		var out map[string]string
		if code := b.admin.Call(t, "POST", "/api/button", tt.body, &out); code != tt.code || (code == 202) != (out["status"] == "pressed") {
			t.Errorf("button %s: %d %v, want %d", tt.body, code, out, tt.code)
		}
	}
	if diff := cmp.Diff([]time.Duration{5 * time.Second, 0}, b.pressed()); diff != "" {
		t.Errorf("presses (-want +got):\n%s", diff)
	}

	hw := newTestBox(t, func(o *boxOptions) { o.noButton = true })
	var e apiError
	if code := hw.admin.Call(t, "POST", "/api/button", "", &e); code != 404 || !strings.Contains(e.Error, "cannot be pressed") {
		t.Errorf("button on a real board: %d %+v", code, e)
	}
}

func TestStatusAndHealth(t *testing.T) {
	b := newTestBox(t)
	b.admin.Call(t, "PUT", "/api/phones/000B82112233/assignment", `{"extension":"201","password":"pw-201-secret"}`, nil)
	var st map[string]any
	if code := b.admin.Call(t, "GET", "/api/status", "", &st); code != 200 {
		t.Fatal(code)
	}
	counts := st["counts"].(map[string]any)
	for _, s := range appliance.States {
		if _, ok := counts[string(s)]; !ok {
			t.Errorf("counts lack %s: %v", s, counts)
		}
	}
	want := map[string]any{"version": "test", "uptime_s": 3600.0, "interface": "lan0", "addresses": []any{"198.18.0.1/24"},
		"multicast_joined": true, "led": "idle", "phones": 1.0, "pending": 1.0, "provision_mode": "button", "pool": nil,
		"claim_mode": false, "claim_seconds_left": 0.0}
	for k, v := range want {
		if diff := cmp.Diff(v, st[k]); diff != "" {
			t.Errorf("status %s (-want +got):\n%s", k, diff)
		}
	}
	if counts["assigned"] != 1.0 {
		t.Errorf("counts: %v", counts)
	}

	var h map[string]string
	if code := b.anon.Call(t, "GET", "/healthz", "", &h); code != 200 || h["status"] != "ok" {
		t.Errorf("healthz: %d %v", code, h)
	}
	b.setProblem("no link on lan0")
	if code := b.anon.Call(t, "GET", "/healthz", "", &h); code != 503 || h["status"] != "unhealthy" || h["error"] != "no link on lan0" {
		t.Errorf("healthz with a problem: %d %v", code, h)
	}
	if b.admin.Call(t, "GET", "/api/status", "", &st); st["problem"] != "no link on lan0" {
		t.Errorf("status problem: %v", st["problem"])
	}
}

func TestStatusPage(t *testing.T) {
	b := newTestBox(t)
	b.admin.Call(t, "PUT", "/api/settings", `{"phone_admin_password":"site-admin-pw"}`, nil)
	b.admin.Call(t, "PUT", "/api/phones/000B82112233/assignment", `{"extension":"201","password":"pw-201-secret","display_name":"Front <desk>"}`, nil)
	res := b.admin.Fetch(t, "GET", "/", "", nil)
	if res.Code != 200 || res.Header.Get("Content-Type") != "text/html; charset=utf-8" || !strings.Contains(res.Header.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Fatalf("page: %d %v", res.Code, res.Header)
	}
	for _, s := range []string{"000B82112233", "Front &lt;desk&gt;"} {
		if !bytes.Contains(res.Body, []byte(s)) {
			t.Errorf("the page lacks %q", s)
		}
	}
	for _, s := range []string{"pw-201-secret", "site-admin-pw", "Front <desk>"} {
		if bytes.Contains(res.Body, []byte(s)) {
			t.Errorf("the page shows %q", s)
		}
	}
	for _, h := range []string{"X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"} {
		if res.Header.Get(h) == "" {
			t.Errorf("no %s header", h)
		}
	}
}
