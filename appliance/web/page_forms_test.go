package web

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/appliance/pnp"
)

// see makes phone m announce itself, as a SUBSCRIBE would.
func (b *pageBox) see(m appliance.MAC, ip string) {
	b.t.Helper()
	a := netip.MustParseAddr(ip)
	d := pnp.Discovery{MAC: m, Vendor: "Grandstream", Model: "GXP2130", Firmware: "1.0.11.3",
		Contact: netip.AddrPortFrom(a, 5060), Source: netip.AddrPortFrom(a, 5060), Txn: "t-" + m.String(),
		Dialog: appliance.Dialog{CallID: "c-" + m.String(), RemoteAddr: netip.AddrPortFrom(a, 5060)}}
	if !b.coord.Offer(d) {
		b.t.Fatal("discovery queue full")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if e, err := b.coord.Phone(m); err == nil && e.Phone.Seen() {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("phone %s not recorded", m)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (b *pageBox) run() {
	ctx := b.t.Context()
	done := make(chan struct{})
	go func() { b.coord.Run(ctx); close(done) }()
	b.t.Cleanup(func() { <-done })
}

func TestPreStageAndEditForm(t *testing.T) {
	b := newPageBox(t, true)
	b.login()
	res, body := b.get("/add")
	wantPage(t, "add form", res, body, 200, `<label for="mac">MAC address</label>`, `<label for="ext">Extension</label>`, "GXP2130: up to 17 programmable keys")

	// Validation from the coordinator's rules, beside the field, the
	// typed values kept (the password never).
	form := url.Values{"mac": {"00-0b-82-a1-b2-c3"}, "model": {"GXP2140"}, "extension": {"2 01"}, "password": {"sip-pw-secret-9"},
		"display_name": {"Front desk"}, "codecs": {"G722, PCMU"}, "key_rows": {"1"}, "key_type_0": {"blf"}, "key_value_0": {"202"}, "do": {"save"}}
	res, body = b.post("/add", form)
	wantPage(t, "bad extension", res, body, 400, `aria-describedby="e-ext"`, `<p class="ferr" id="e-ext">`, "is not allowed in a SIP user name", `value="Front desk"`)
	if strings.Contains(body, "sip-pw-secret-9") {
		t.Error("the form sent the typed password back")
	}
	form.Set("mac", "000B82-A1B2")
	res, body = b.post("/add", form)
	wantPage(t, "bad MAC", res, body, 400, `id="e-mac"`, "12 hex digits")

	// Too many keys for the model: the message sits in the key's row.
	form.Set("mac", "00-0b-82-a1-b2-c3")
	form.Set("extension", "201")
	form.Set("key_rows", "14")
	for i := range 14 {
		form.Set(fmt.Sprint("key_type_", i), "speed_dial")
		form.Set(fmt.Sprint("key_value_", i), fmt.Sprint(300+i))
	}
	res, body = b.post("/add", form)
	wantPage(t, "13 keys on a GXP2140", res, body, 400, "GXP2140 holds 12 keys")

	// "More key rows" and "move up" only redraw the form.
	form.Set("key_rows", "2")
	form.Set("key_type_1", "blf")
	form.Set("key_value_1", "299")
	form.Set("do", "up-1")
	res, body = b.post("/add", form)
	wantPage(t, "move up", res, body, 200)
	if i, j := strings.Index(body, `value="299"`), strings.Index(body, `value="300"`); i < 0 || j < 0 || i > j {
		t.Errorf("key 2 was not moved up (299 at %d, 300 at %d)", i, j)
	}
	form.Set("do", "add-keys")
	res, body = b.post("/add", form)
	wantPage(t, "more rows", res, body, 200, `name="key_type_4"`)
	if _, err := b.coord.Phone(pageMAC(t, "000B82A1B2C3")); err == nil {
		t.Fatal("a redraw saved the phone")
	}

	form.Set("do", "save")
	form.Set("key_remove_1", "1")
	res, body = b.post("/add", form)
	if res.StatusCode != 303 || res.Header.Get("Location") != "/phones/000B82A1B2C3" {
		t.Fatalf("pre-stage: %d → %q\n%s", res.StatusCode, res.Header.Get("Location"), body)
	}
	e, err := b.coord.Phone(pageMAC(t, "000B82A1B2C3"))
	if err != nil || e.Assignment == nil {
		t.Fatalf("pre-staged phone: %v", err)
	}
	a := e.Assignment
	if a.Extension != "201" || a.Password != "sip-pw-secret-9" || a.Model != "GXP2140" || strings.Join(a.Codecs, ",") != "G722,PCMU" ||
		len(a.Keys) != 1 || a.Keys[0].Value != "300" {
		t.Errorf("stored assignment %+v", a)
	}

	// Editing keeps the password when the field is left empty.
	res, body = b.get("/phones/000B82A1B2C3/edit")
	wantPage(t, "edit form", res, body, 200, `value="Front desk"`, "set — leave empty to keep it")
	if strings.Contains(body, "sip-pw-secret-9") {
		t.Error("the edit form shows the stored password")
	}
	res, _ = b.post("/phones/000B82A1B2C3/edit", url.Values{"extension": {"205"}, "display_name": {"Lobby"}, "key_rows": {"0"}, "do": {"save"}})
	if res.StatusCode != 303 {
		t.Fatalf("edit: %d", res.StatusCode)
	}
	e, _ = b.coord.Phone(pageMAC(t, "000B82A1B2C3"))
	if e.Assignment.Extension != "205" || e.Assignment.Password != "sip-pw-secret-9" {
		t.Errorf("after edit: %+v", e.Assignment)
	}
	res, body = b.get("/phones/000B82A1B2C3")
	wantPage(t, "phone page after edit", res, body, 200, "Saved: extension 205", "Lobby", "set (not shown)")
	res, body = b.get("/phones/00:0b:82:a1:b2:c3")
	wantPage(t, "phone page by another MAC form", res, body, 200, "Phone 000B82A1B2C3")
	res, body = b.get("/phones/000B82FFFFFF")
	wantPage(t, "unknown phone", res, body, 404, "knows no phone")
}

func TestPhonePage(t *testing.T) {
	b := newPageBox(t, true)
	b.run()
	b.login()
	m := pageMAC(t, "000B82A1B2C3")
	b.see(m, "192.0.2.50")
	if _, err := b.coord.UpdateSettings(sipServer("pbx.example.net")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.coord.Assign(m, appliance.Assignment{Extension: "201", Password: "sip-pw-secret-9"}); err != nil {
		t.Fatal(err)
	}
	e, _ := b.coord.Phone(m)
	res, body := b.get("/phones/" + m.String())
	wantPage(t, "phone page", res, body, 200, "192.0.2.50", "GXP2130", "Timeline", "discovered", "assigned",
		"Config preview (secrets masked)", "********", e.ConfigURL, "Show the phone's admin password")
	adminPW, _ := b.coord.PhoneAdminPassword(m)
	for _, secret := range []string{"sip-pw-secret-9", adminPW} {
		if strings.Contains(body, secret) {
			t.Errorf("the phone page holds the secret %q", secret)
		}
	}
	res, body = b.post("/phones/"+m.String()+"/admin-password", nil)
	wantPage(t, "admin password on request", res, body, 200, adminPW)

	res, _ = b.post("/phones/"+m.String()+"/provision", nil)
	_, body = b.get(res.Header.Get("Location"))
	wantPage(t, "provision this phone", res, body, 303, "NOTIFY sent")

	res, _ = b.post("/phones/"+m.String()+"/forget", nil)
	_, body = b.get(res.Header.Get("Location"))
	wantPage(t, "forget a seen phone", res, body, 303, "discovered again")

	p2 := pageMAC(t, "000B82A1B2C4")
	b.coord.Assign(p2, appliance.Assignment{Extension: "202", Password: "sip-pw-secret-8"})
	res, _ = b.post("/phones/"+p2.String()+"/forget", nil)
	if _, err := b.coord.Phone(p2); err == nil || res.StatusCode != 303 {
		t.Errorf("forget a pre-staged phone: %d, still known: %v", res.StatusCode, err == nil)
	}
}

func TestTableFiltersSearchAndProvisionAll(t *testing.T) {
	b := newPageBox(t, true)
	b.run()
	b.login()
	b.coord.UpdateSettings(sipServer("pbx.example.net"))
	seen, staged, bare := pageMAC(t, "000B82000001"), pageMAC(t, "000B82000002"), pageMAC(t, "000B82000003")
	b.see(seen, "192.0.2.51")
	b.see(bare, "192.0.2.53")
	b.coord.Assign(seen, appliance.Assignment{Extension: "301", Password: "pw-301-secret", DisplayName: "Kitchen"})
	b.coord.Assign(staged, appliance.Assignment{Extension: "302", Password: "pw-302-secret"})

	rows := func(body string) string {
		var out []string
		for _, m := range []appliance.MAC{seen, staged, bare} {
			if strings.Contains(body, `id="m`+m.String()+`"`) {
				out = append(out, m.String()[10:])
			}
		}
		return strings.Join(out, ",")
	}
	for _, tc := range []struct{ query, want string }{
		{"", "01,02,03"}, {"show=pending", "01,02"}, {"show=unassigned", "03"}, {"show=failed", ""},
		{"q=kitch", "01"}, {"q=302", "02"}, {"q=00:0b:82:00:00:03", "03"}, {"show=pending&q=000003", ""},
	} {
		res, body := b.get("/?" + tc.query)
		if got := rows(body); res.StatusCode != 200 || got != tc.want {
			t.Errorf("/?%s: %d, rows %q, want %q", tc.query, res.StatusCode, got, tc.want)
		}
		if _, live := b.get("/phones/live?" + tc.query); rows(live) != tc.want {
			t.Errorf("/phones/live?%s: rows %q, want %q", tc.query, rows(live), tc.want)
		}
	}
	res, body := b.get("/")
	wantPage(t, "before the press", res, body, 200, "Provision all pending (2)", "Kitchen", "not seen yet")

	res, _ = b.post("/provision", nil)
	if res.StatusCode != 303 {
		t.Fatalf("provision all: %d", res.StatusCode)
	}
	_, body = b.get("/")
	wantPage(t, "after the press", res, body, 303, "1 notified, 1 skipped", "000B82000002", "not announced")
	_, body = b.get("/")
	if strings.Contains(body, "1 notified") {
		t.Error("the press's summary is shown twice")
	}
}

func TestCSVUploadDryRunImport(t *testing.T) {
	b := newPageBox(t, true)
	b.login()
	res, body := b.get("/csv/template")
	if res.StatusCode != 200 || !strings.HasPrefix(body, "mac,extension,password,") || res.Header.Get("Content-Disposition") == "" {
		t.Fatalf("template: %d %q", res.StatusCode, body)
	}
	bad := "mac,extension,password,display_name\n000B82000011,401,pw-401-secret,A\n000B82000012,4 02,pw-402-secret,B\n"
	res, body = b.upload("/csv/check", "file", "site.csv", bad, nil)
	wantPage(t, "bad row", res, body, 400, "1 bad row", "<td>3<td>000B82000012<td>extension<td>")
	if ps := b.coord.Phones(); len(ps) != 0 {
		t.Fatalf("a rejected file wrote %d phones", len(ps))
	}
	good := strings.Replace(bad, "4 02", "402", 1)
	res, body = b.upload("/csv/check", "file", "site.csv", good, nil)
	wantPage(t, "dry run", res, body, 200, "the file is good", "2 new", "Import site.csv")
	if ps := b.coord.Phones(); len(ps) != 0 {
		t.Fatalf("a dry run wrote %d phones", len(ps))
	}
	if strings.Contains(body, "pw-401-secret") {
		t.Error("the report holds a password from the file")
	}
	i := strings.Index(body, `name="upload" value="`)
	id := body[i+len(`name="upload" value="`):]
	id = id[:strings.IndexByte(id, '"')]
	res, body = b.post("/csv/import", url.Values{"upload": {id}})
	wantPage(t, "import", res, body, 200, "imported", "2 new")
	if ps := b.coord.Phones(); len(ps) != 2 {
		t.Fatalf("import wrote %d phones, want 2", len(ps))
	}
	res, body = b.post("/csv/import", url.Values{"upload": {id}})
	wantPage(t, "second import of one upload", res, body, 400, "expired (or was imported already)")
	res, body = b.get("/csv/export")
	if res.StatusCode != 200 || !strings.Contains(body, "000B82000012,402,,B") {
		t.Errorf("export: %d %q", res.StatusCode, body)
	}
}

func TestSettingsForm(t *testing.T) {
	b := newPageBox(t, true)
	b.login()
	res, body := b.get("/settings")
	wantPage(t, "settings", res, body, 200, `<label for="f-sip_server">SIP server</label>`, "Your PBX, as host or host:port", `name="extension_pool"`)
	form := url.Values{"sip_server": {"pbx.example.net:5070"}, "provision_mode": {"button"}, "notify_url_form": {"file"},
		"unknown_phones": {"list"}, "codecs": {"PCMA, PCMU"}, "extension_pool": {"200-2x9"}, "phone_admin_password": {"phone-admin-7"}}
	res, body = b.post("/settings", form)
	wantPage(t, "bad pool", res, body, 400, "Not saved", `value="200-2x9"`, `name="extension_pool" value="200-2x9" autocomplete="off" aria-invalid="true"`)
	if b.coord.Settings().SIPServer != "" {
		t.Error("a rejected form changed a setting")
	}
	form.Set("extension_pool", "200-299")
	res, _ = b.post("/settings", form)
	set := b.coord.Settings()
	if res.StatusCode != 303 || set.SIPServer != "pbx.example.net:5070" || set.ExtensionPool != "200-299" ||
		strings.Join(set.Codecs, ",") != "PCMA,PCMU" || set.PhoneAdminPassword != "phone-admin-7" {
		t.Fatalf("saved settings: %d %+v", res.StatusCode, set)
	}
	_, body = b.get("/settings")
	if !strings.Contains(body, "Settings saved") || strings.Contains(body, "phone-admin-7") {
		t.Error("after saving: no confirmation, or the phone admin password is in the page")
	}
	form.Del("phone_admin_password")
	b.post("/settings", form)
	if b.coord.Settings().PhoneAdminPassword != "phone-admin-7" {
		t.Error("an empty password field cleared the stored one")
	}
	form.Set("phone_admin_password_clear", "1")
	b.post("/settings", form)
	if b.coord.Settings().PhoneAdminPassword != "" {
		t.Error("clear it did not clear the password")
	}
}

func TestBoxPanel(t *testing.T) {
	b := newPageBox(t, true)
	b.login()
	res, body := b.get("/box")
	wantPage(t, "box", res, body, 200, "pending: slow blink", "192.0.2.10/24", "224.0.1.75 joined", "Download a backup", "not encrypted", "Restore", "Clock", "not set yet")
	res, body = b.get("/api/backup")
	if res.StatusCode != 200 || len(body) == 0 {
		t.Fatalf("backup through the session: %d", res.StatusCode)
	}
	res, _ = b.upload("/box/restore", "backup", "pnpbox.db", "not a database", nil)
	_, page := b.get("/box")
	wantPage(t, "bad restore", res, page, 303, "Not restored")
	res, _ = b.upload("/box/restore", "backup", "pnpbox.db", body, nil)
	_, page = b.get("/box")
	wantPage(t, "restore", res, page, 303, "Restored: 0 phones")
	res, _ = b.post("/box/ack", nil)
	_, page = b.get("/box")
	wantPage(t, "ack", res, page, 303, "0 alert(s) acknowledged")
}

// sipServer is a settings edit that sets the SIP server.
func sipServer(host string) func(appliance.Settings) (appliance.Settings, error) {
	return func(s appliance.Settings) (appliance.Settings, error) {
		s.SIPServer = host
		return s, nil
	}
}
