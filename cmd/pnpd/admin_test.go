// Daemon-level tests of what an installer does through the admin API
// beyond TestAPI: CSV import and export, the event log, backup and
// restore, recovery from a damaged database, approval of phones, the
// extension pool, and the commits a SUBSCRIBE flood costs.

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pnpbox/pnpbox/internal/apiclient"
)

// do makes an authenticated request with any body and returns the status
// and the body.
func (d *daemon) do(t *testing.T, method, path, contentType string, body io.Reader) (int, []byte) {
	t.Helper()
	res := apiclient.New(d.base, testPassword).Fetch(t, method, path, contentType, body)
	return res.Code, res.Body
}

// status is the part of /api/status these tests read.
type status struct {
	LED    string `json:"led"`
	Phones int    `json:"phones"`
	Alerts []struct {
		Kind    string `json:"kind"`
		Message string `json:"message"`
	} `json:"alerts"`
	Intake struct {
		Ignored uint64 `json:"ignored"`
		Denied  uint64 `json:"denied"`
	} `json:"intake"`
	Pool *struct {
		Range string `json:"range"`
		Free  uint64 `json:"free"`
	} `json:"pool"`
	SIP struct {
		Received uint64            `json:"received"`
		Answered uint64            `json:"answered"`
		Dropped  map[string]uint64 `json:"dropped"`
	} `json:"sip"`
	Store struct {
		Commits uint64 `json:"commits"`
		Error   string `json:"error"`
		Queue   int    `json:"discovery_queue"`
	} `json:"store"`
}

func (d *daemon) status(t *testing.T) status {
	t.Helper()
	var st status
	if code := d.api(t, "GET", "/api/status", "", &st); code != 200 {
		t.Fatalf("status: %d", code)
	}
	return st
}

// phone is a simulated PnP phone on its own loopback address (the whole
// of 127/8 is local on Linux), sending the GXP2140 capture with its MAC.
type phone struct {
	mac  string
	conn *net.UDPConn
	n    atomic.Int64
}

func newPhone(t *testing.T, ip, mac string) *phone {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &phone{mac: mac, conn: c}
}

var subscribeTemplate = func() []byte {
	b, err := os.ReadFile("../../appliance/pnp/testdata/subscribe/grandstream_gxp2140.sip")
	if err != nil {
		panic(err)
	}
	return b
}()

// subscribe sends one SUBSCRIBE, a new transaction each time (a new
// Call-ID and branch: the worst case for the box, nothing deduplicates).
func (p *phone) subscribe(t *testing.T, sipPort int) {
	n := p.n.Add(1)
	local := p.conn.LocalAddr().String()
	msg := bytes.ReplaceAll(subscribeTemplate, []byte("000B82273B89"), []byte(p.mac))
	msg = bytes.ReplaceAll(msg, []byte("172.18.0.77:5060"), []byte(local))
	msg = bytes.ReplaceAll(msg, []byte("1391437540-5060-1@BJC.BGI.IG.HH"), []byte(fmt.Sprintf("%s-%d@test", p.mac, n)))
	msg = bytes.ReplaceAll(msg, []byte("z9hG4bK1094837254"), []byte(fmt.Sprintf("z9hG4bK%s%d", p.mac, n)))
	if _, err := p.conn.WriteToUDP(msg, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: sipPort}); err != nil {
		t.Errorf("send SUBSCRIBE: %v", err)
	}
}

// answered waits up to 10 s for a 200 OK.
func (p *phone) answered() bool {
	buf := make([]byte, 4096)
	p.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		n, err := p.conn.Read(buf)
		if err != nil {
			return false
		}
		if bytes.HasPrefix(buf[:n], []byte("SIP/2.0 200 ")) {
			return true
		}
	}
}

func TestCSVImportExportAPI(t *testing.T) {
	d := startDaemon(t)
	// Keys need the model (the phones have not announced themselves).
	csv := "mac,extension,password,display_name,keys,model\n" +
		"000B82000001,201,pw-201-secret,Reception,blf:202:Sales,GXP2140\n" +
		"000B82000002,202,pw-202-secret,\"Lager, Süd\",,\n"
	for _, tc := range []struct {
		name, ctype, path, body string
		code                    int
		want                    string
	}{
		{"not CSV", "application/json", "/api/assignments/import", csv, 415, "text/csv"},
		{"bad rows", "text/csv", "/api/assignments/import", "mac,extension,password\nxyz,201,pw\n000B82000003,,pw\n", 400,
			`"rows": [`},
		{"dry run", "text/csv", "/api/assignments/import?dry_run=1", csv, 200, `"dry_run": true`},
		{"import", "text/csv; charset=utf-8", "/api/assignments/import", csv, 200, `"created": 2`},
		{"again: no change", "text/csv", "/api/assignments/import", csv, 200, `"unchanged": 2`},
	} {
		code, body := d.do(t, "POST", tc.path, tc.ctype, strings.NewReader(tc.body))
		if code != tc.code || !strings.Contains(string(body), tc.want) {
			t.Errorf("%s: %d %s; want %d with %q", tc.name, code, body, tc.code, tc.want)
		}
	}
	var rej struct {
		Error string `json:"error"`
		Rows  []struct {
			Line  int    `json:"line"`
			Field string `json:"field"`
		} `json:"rows"`
	}
	_, body := d.do(t, "POST", "/api/assignments/import", "text/csv", strings.NewReader("mac,extension,password\nxyz,201,pw\n000B82000003,,pw\n"))
	json.Unmarshal(body, &rej)
	if len(rej.Rows) != 2 || rej.Rows[0].Line != 2 || rej.Rows[1].Field != "extension" || !strings.Contains(rej.Error, "nothing was imported") {
		t.Errorf("rejection: %s", body)
	}

	code, plain := d.do(t, "GET", "/api/assignments/export", "", nil)
	if code != 200 || bytes.Contains(plain, []byte("pw-201-secret")) {
		t.Errorf("export without passwords: %d\n%s", code, plain)
	}
	want := "mac,extension,password,display_name,auth_id,sip_server,codecs,keys,model\n" +
		"000B82000001,201,,Reception,,,,blf:202:Sales,GXP2140\n" +
		"000B82000002,202,,\"Lager, Süd\",,,,,\n"
	if diff := cmp.Diff(want, string(plain)); diff != "" {
		t.Errorf("export (-want +got):\n%s", diff)
	}
	_, withPW := d.do(t, "GET", "/api/assignments/export?include_passwords=1", "", nil)
	if !bytes.Contains(withPW, []byte("pw-201-secret")) {
		t.Errorf("export with passwords lacks them:\n%s", withPW)
	}
	// Export → import is a no-op, with or without passwords.
	for _, exp := range [][]byte{plain, withPW} {
		var res struct {
			Unchanged int   `json:"unchanged"`
			Changes   []any `json:"changes"`
		}
		code, body := d.do(t, "POST", "/api/assignments/import", "text/csv", bytes.NewReader(exp))
		json.Unmarshal(body, &res)
		if code != 200 || res.Unchanged != 2 || len(res.Changes) != 0 {
			t.Errorf("re-import of an export: %d %s", code, body)
		}
	}
}

// TestEventsAPI: /api/events filters by MAC and by event number or time,
// and no event holds a password.
func TestEventsAPI(t *testing.T) {
	d := startDaemon(t)
	start := time.Now().UTC().Add(-time.Second).Format(time.RFC3339)
	d.api(t, "PUT", "/api/phones/000B82000001/assignment", `{"extension":"201","password":"pw-201-secret"}`, nil)
	d.api(t, "PUT", "/api/phones/000B82000002/assignment", `{"extension":"202","password":"pw-202-secret"}`, nil)
	d.api(t, "DELETE", "/api/phones/000B82000002/assignment", "", nil)
	type event struct {
		Seq    uint64 `json:"seq"`
		MAC    string `json:"mac"`
		Kind   string `json:"kind"`
		Detail string `json:"detail"`
	}
	var all, mine, after, since []event
	d.api(t, "GET", "/api/events", "", &all)
	d.api(t, "GET", "/api/events?mac=00:0b:82:00:00:02", "", &mine)
	d.api(t, "GET", "/api/events?since="+url.QueryEscape(start), "", &since)
	if len(all) < 4 {
		t.Fatalf("events: %+v", all)
	}
	d.api(t, "GET", fmt.Sprintf("/api/events?since=%d", all[len(all)-2].Seq), "", &after)
	var kinds []string
	for _, e := range mine {
		kinds = append(kinds, e.Kind)
	}
	if diff := cmp.Diff([]string{"assigned", "unassigned"}, kinds); diff != "" {
		t.Errorf("events of one MAC (-want +got):\n%s", diff)
	}
	if len(after) != 1 || after[0].Seq != all[len(all)-1].Seq {
		t.Errorf("since an event number: %+v", after)
	}
	if len(since) < 3 {
		t.Errorf("since a time: %+v", since)
	}
	for _, e := range all {
		if strings.Contains(e.Detail, "secret") {
			t.Errorf("event holds a password: %+v", e)
		}
	}
	var e map[string]string
	if code := d.api(t, "GET", "/api/events?since=yesterday", "", &e); code != 400 {
		t.Errorf("bad since: %d %v", code, e)
	}
}

func TestBackupRestoreAPI(t *testing.T) {
	d := startDaemon(t)
	d.api(t, "PUT", "/api/phones/000B82000001/assignment", `{"extension":"201","password":"pw-201-secret"}`, nil)
	code, backup := d.do(t, "GET", "/api/backup", "", nil)
	if code != 200 || len(backup) < 4096 {
		t.Fatalf("backup: %d, %d bytes", code, len(backup))
	}
	d.api(t, "PUT", "/api/phones/000B82000002/assignment", `{"extension":"202","password":"pw-202-secret"}`, nil)

	for _, bad := range [][]byte{[]byte("hello"), backup[:len(backup)/2]} {
		code, body := d.do(t, "POST", "/api/restore", "application/octet-stream", bytes.NewReader(bad))
		if code != 400 || !strings.Contains(string(body), "not a usable pnpbox backup") {
			t.Errorf("restore of %d bad bytes: %d %s", len(bad), code, body)
		}
	}
	code, body := d.do(t, "POST", "/api/restore", "application/octet-stream", bytes.NewReader(backup))
	if code != 200 {
		t.Fatalf("restore: %d %s", code, body)
	}
	var phones []map[string]any
	d.api(t, "GET", "/api/phones", "", &phones)
	if len(phones) != 1 || phones[0]["mac"] != "000B82000001" {
		t.Errorf("after restore: %v", phones)
	}
	snaps, _ := filepath.Glob(filepath.Join(d.data, "snapshots", "phones-*-prerestore.db"))
	if len(snaps) != 1 {
		t.Errorf("previous database not kept: %v", snaps)
	}
	// Still the same admin, and it survives a restart.
	d.stop(t)
	d2 := startDaemon(t, "-data", d.data)
	d2.api(t, "GET", "/api/phones", "", &phones)
	if len(phones) != 1 {
		t.Errorf("after restart: %v", phones)
	}
}

// TestCorruptDatabaseAtStart: a damaged database does not stop pnpd; it
// is moved aside, the newest good snapshot is used, and the LED shows
// error until the alert is acknowledged.
func TestCorruptDatabaseAtStart(t *testing.T) {
	d := startDaemon(t)
	d.api(t, "PUT", "/api/phones/000B82000001/assignment", `{"extension":"201","password":"pw-201-secret"}`, nil)
	d.stop(t)
	// pnpd took its daily snapshot at start (before the assignment); now
	// the database is cut in half, as a bad SD card might leave it.
	db := filepath.Join(d.data, "phones.db")
	st, _ := os.Stat(db)
	if err := os.Truncate(db, st.Size()/2); err != nil {
		t.Fatal(err)
	}
	d2 := startDaemon(t, "-data", d.data)
	s := d2.status(t)
	if len(s.Alerts) != 1 || s.Alerts[0].Kind != "database_recovered" || !strings.Contains(s.Alerts[0].Message, "snapshot") {
		t.Fatalf("alerts: %+v", s.Alerts)
	}
	waitFor(t, "LED error", func() bool { return d2.status(t).LED == "error" })
	if code, page := d2.do(t, "GET", "/", "", nil); code != 200 || !bytes.Contains(page, []byte("Acknowledge")) || !bytes.Contains(page, []byte("damaged")) {
		t.Errorf("status page does not show the alert: %d\n%s", code, page)
	}
	aside, _ := filepath.Glob(db + ".corrupt-*")
	if len(aside) != 1 {
		t.Errorf("damaged file not kept: %v", aside)
	}
	var evs []map[string]any
	d2.api(t, "GET", "/api/events?limit=1", "", &evs)
	if len(evs) != 1 || evs[0]["kind"] != "error" {
		t.Errorf("last event: %v", evs)
	}
	var ack map[string]int
	if code := d2.api(t, "POST", "/api/alerts/ack", "", &ack); code != 200 || ack["acknowledged"] != 1 {
		t.Errorf("ack: %d %v", code, ack)
	}
	waitFor(t, "LED not error", func() bool { return d2.status(t).LED != "error" })
	if code := d2.api(t, "PUT", "/api/phones/000B82000001/assignment", `{"extension":"201","password":"pw-201-secret"}`, nil); code != 200 {
		t.Errorf("write after recovery: %d", code)
	}
}

// TestApprovalOverSIP: with unknown_phones=ignore, an unknown phone is
// answered (it stops retrying) but not listed; an allowed one is listed;
// a denied one is answered, not listed, and counted.
func TestApprovalOverSIP(t *testing.T) {
	d := startDaemon(t)
	if code := d.api(t, "PUT", "/api/settings", `{"unknown_phones":"ignore","allow_macs":["000B82"],"deny_macs":["000B82DDDDDD"]}`, nil); code != 200 {
		t.Fatal(code)
	}
	phones := map[string]*phone{
		"unknown": newPhone(t, "127.0.2.1", "001565000001"),
		"allowed": newPhone(t, "127.0.2.2", "000B82000001"),
		"denied":  newPhone(t, "127.0.2.3", "000B82DDDDDD"),
	}
	for name, p := range phones {
		p.subscribe(t, d.sipPort)
		if !p.answered() {
			t.Errorf("%s phone got no 200 OK", name)
		}
	}
	waitFor(t, "the SUBSCRIBEs processed", func() bool {
		s := d.status(t)
		return s.Intake.Ignored == 1 && s.Intake.Denied == 1 && s.Phones == 1
	})
	var list []map[string]any
	d.api(t, "GET", "/api/phones", "", &list)
	if len(list) != 1 || list[0]["mac"] != "000B82000001" {
		t.Errorf("listed: %v", list)
	}
}

// TestPoolOverAPI: a press gives discovered phones pool extensions.
func TestPoolOverAPI(t *testing.T) {
	d := startDaemon(t)
	if code := d.api(t, "PUT", "/api/settings", `{"extension_pool":"300-301","sip_server":"pbx.example.net"}`, nil); code != 200 {
		t.Fatal(code)
	}
	for i := range 3 {
		p := newPhone(t, fmt.Sprintf("127.0.3.%d", i+1), fmt.Sprintf("000B8200010%d", i))
		p.subscribe(t, d.sipPort)
		if !p.answered() {
			t.Fatal("no 200 OK")
		}
	}
	waitFor(t, "3 phones", func() bool { return d.status(t).Phones == 3 })
	var sum struct {
		Pooled  []struct{ MAC, Extension string } `json:"pooled"`
		Skipped []struct{ MAC, Reason string }    `json:"skipped"`
	}
	if code := d.api(t, "POST", "/api/provision", "", &sum); code != 202 {
		t.Fatalf("press: %d", code)
	}
	if len(sum.Pooled) != 2 || len(sum.Skipped) != 1 || !strings.Contains(sum.Skipped[0].Reason, "no free extension") {
		t.Errorf("press: %+v", sum)
	}
	if s := d.status(t); s.Pool == nil || s.Pool.Range != "300-301" || s.Pool.Free != 0 {
		t.Errorf("pool status: %+v", s.Pool)
	}
	code, csv := d.do(t, "GET", "/api/assignments/export?include_passwords=1", "", nil)
	if code != 200 || !bytes.Contains(csv, []byte(",300,")) || !bytes.Contains(csv, []byte(",301,")) {
		t.Errorf("export after the press: %s", csv)
	}
}

// TestSubscribeFloodCommits: 10,000 SUBSCRIBEs for 100 phones, each a new
// transaction, must not become thousands of commits: the coordinator
// writes discoveries in batches, at most one every 250 ms.
func TestSubscribeFloodCommits(t *testing.T) {
	d := startDaemon(t, "-sip-source-rate", "0") // 100 new transactions per phone: a flood, unless unlimited
	const macs, total = 100, 10000
	before := d.status(t)
	phones := make([]*phone, macs)
	var answered atomic.Int64
	var wg sync.WaitGroup
	for i := range phones {
		phones[i] = newPhone(t, fmt.Sprintf("127.0.1.%d", i+1), fmt.Sprintf("000B821000%02X", i))
		wg.Add(1)
		go func(p *phone) { // count the 200 OKs until the socket goes quiet
			defer wg.Done()
			buf := make([]byte, 4096)
			for {
				p.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
				n, err := p.conn.Read(buf)
				if err != nil {
					return
				}
				if bytes.HasPrefix(buf[:n], []byte("SIP/2.0 200 ")) {
					answered.Add(1)
				}
			}
		}(phones[i])
	}
	// 2,000 a second: a phone sends 20 a second and the kernel's socket
	// buffer keeps up, so the packets reach the box, each a new
	// transaction for the coordinator.
	start := time.Now()
	tick := time.NewTicker(10 * time.Millisecond)
	for i := 0; i < total; {
		<-tick.C
		for j := 0; j < 20 && i < total; j, i = j+1, i+1 {
			phones[i%macs].subscribe(t, d.sipPort)
		}
	}
	tick.Stop()
	sent := time.Since(start)
	waitFor(t, "every phone listed and the queue empty", func() bool {
		s := d.status(t)
		return s.Phones == macs && s.Store.Queue == 0
	})
	wg.Wait()
	after := d.status(t)
	commits := after.Store.Commits - before.Store.Commits
	t.Logf("%d SUBSCRIBEs sent in %v; received %d, answered %d (200 OKs read: %d), dropped %v; %d commits",
		total, sent.Round(time.Millisecond), after.SIP.Received-before.SIP.Received, after.SIP.Answered-before.SIP.Answered,
		answered.Load(), after.SIP.Dropped, commits)
	if n := after.SIP.Answered - before.SIP.Answered; n < total/10 {
		t.Errorf("only %d SUBSCRIBEs answered: the test did not load the coordinator", n)
	}
	// A flush at most every 250 ms while changes arrive (4 a second),
	// with room for the daily snapshot's and settings' commits.
	if limit := uint64(10 + 4*time.Since(start)/time.Second); commits > limit {
		t.Errorf("%d commits for %d SUBSCRIBEs, want at most %d", commits, total, limit)
	}
	// And the box still listens: a new phone after the flood is answered.
	late := newPhone(t, "127.0.1.200", "000B82AAAAAA")
	late.subscribe(t, d.sipPort)
	if !late.answered() {
		t.Error("a phone after the flood got no answer")
	}
}
