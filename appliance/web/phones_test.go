package web

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
)

// apiError is the API's error shape.
type apiError struct {
	Error string `json:"error"`
	Field string `json:"field"`
}

func TestPhonesAndAssignments(t *testing.T) {
	b := newTestBox(t)
	var list []map[string]any
	if code := b.admin.Call(t, "GET", "/api/phones", "", &list); code != 200 || list == nil || len(list) != 0 {
		t.Fatalf("no phones yet: %d %v, want 200 and []", code, list)
	}

	var p map[string]any
	code := b.admin.Call(t, "PUT", "/api/phones/00:0b:82:11:22:33/assignment",
		`{"extension":"201","password":"pw-201-secret","display_name":"Front desk","codecs":["pcmu","G722"],"model":"GXP2140",
		  "accounts":[{"extension":"202","password":"pw-202-secret"}]}`, &p)
	if code != 200 || p["state"] != "assigned" || p["mac"] != "000B82112233" || p["ip"] != nil || p["first_seen"] != nil {
		t.Fatalf("pre-stage: %d %v", code, p)
	}
	a := p["assignment"].(map[string]any)
	if _, leaked := a["password"]; leaked || a["password_set"] != true {
		t.Errorf("password not masked: %v", a)
	}
	acc := a["accounts"].([]any)[0].(map[string]any)
	if _, leaked := acc["password"]; leaked || acc["password_set"] != true {
		t.Errorf("account 2's password not masked: %v", acc)
	}
	if !strings.HasPrefix(p["config_url"].(string), "http://198.18.0.1:8080/p/") {
		t.Errorf("config_url %q", p["config_url"])
	}

	if b.admin.Call(t, "GET", "/api/phones", "", &list); len(list) != 1 || list[0]["mac"] != "000B82112233" {
		t.Errorf("phones: %v", list)
	}
	raw := b.admin.Fetch(t, "GET", "/api/phones", "", nil)
	if bytes.Contains(raw.Body, []byte("pw-20")) {
		t.Errorf("the list shows a password: %s", raw.Body)
	}
	if code := b.admin.Call(t, "GET", "/api/phones/000b82-112233", "", &p); code != 200 || p["mac"] != "000B82112233" {
		t.Errorf("get by dashed lower-case MAC: %d %v", code, p["mac"])
	}

	// An empty password keeps the one stored.
	b.admin.Call(t, "PUT", "/api/phones/000B82112233/assignment", `{"extension":"201","display_name":"Reception"}`, &p)
	if a := p["assignment"].(map[string]any); a["password_set"] != true || a["display_name"] != "Reception" {
		t.Errorf("after a change without password: %v", a)
	}

	for _, tt := range []struct {
		method, path, body string
		code               int
		want, field        string
	}{
		{"PUT", "/api/phones/000B82112233/assignment", `{"extension":"2 01","password":"x"}`, 400, "extension", "extension"},
		{"PUT", "/api/phones/000B82112233/assignment", `{"extension":"201","password":"x","codecs":["GSM"]}`, 400, "codecs[0]", "codecs[0]"},
		{"PUT", "/api/phones/000B82112233/assignment", `{"extension":"201","pasword":"x"}`, 400, "unknown field", ""},
		{"PUT", "/api/phones/000B82112233/assignment", `{"extension":`, 400, "assignment:", ""},
		{"PUT", "/api/phones/nonsense/assignment", `{}`, 400, "bad MAC", ""},
		{"GET", "/api/phones/nonsense", "", 400, "bad MAC", ""},
		{"GET", "/api/phones/000B82FFFFFF", "", 404, "no such phone", ""},
		{"DELETE", "/api/phones/000B82FFFFFF/assignment", "", 404, "no such phone", ""},
		{"DELETE", "/api/phones/nonsense/assignment", "", 400, "bad MAC", ""},
	} {
		var e apiError
		code := b.admin.Call(t, tt.method, tt.path, tt.body, &e)
		if code != tt.code || !strings.Contains(e.Error, tt.want) || e.Field != tt.field {
			t.Errorf("%s %s %s: %d %+v; want %d mentioning %q, field %q", tt.method, tt.path, tt.body, code, e, tt.code, tt.want, tt.field)
		}
	}

	// Removing a pre-staged phone's assignment forgets the phone; a seen
	// phone stays, discovered.
	if code := b.admin.Call(t, "DELETE", "/api/phones/000B82112233/assignment", "", nil); code != 204 {
		t.Errorf("DELETE: %d, want 204", code)
	}
	if code := b.admin.Call(t, "GET", "/api/phones/000B82112233", "", nil); code != 404 {
		t.Errorf("pre-staged phone after DELETE: %d, want 404", code)
	}
	b.announce("000B82445566", "198.18.0.20")
	b.admin.Call(t, "PUT", "/api/phones/000B82445566/assignment", `{"extension":"301","password":"pw-301-secret"}`, nil)
	b.admin.Call(t, "DELETE", "/api/phones/000B82445566/assignment", "", nil)
	if b.admin.Call(t, "GET", "/api/phones/000B82445566", "", &p); p["state"] != "discovered" || p["assignment"] != nil || p["ip"] != "198.18.0.20" {
		t.Errorf("seen phone after DELETE: %v", p)
	}
}

func TestConfigPreviewAndSecrets(t *testing.T) {
	b := newTestBox(t)
	b.admin.Call(t, "PUT", "/api/phones/000B82445566/assignment", `{"extension":"301","password":"pw-301-secret","model":"GXP2160",
		"accounts":[{"extension":"302","password":"pw-302-secret"}],"keys":[{"type":"blf","value":"201","label":"Reception"}]}`, nil)
	res := b.admin.Fetch(t, "GET", "/api/phones/000B82445566/config", "", nil)
	xml := res.Body
	if res.Code != 200 || res.Header.Get("Content-Type") != "application/xml" ||
		!bytes.Contains(xml, []byte("<P35>301</P35>")) || !bytes.Contains(xml, []byte("<P404>302</P404>")) {
		t.Fatalf("preview %d %s:\n%s", res.Code, res.Header.Get("Content-Type"), xml)
	}
	var sec map[string]string
	if code := b.admin.Call(t, "GET", "/api/phones/000B82445566/secrets", "", &sec); code != 200 {
		t.Fatalf("secrets: %d", code)
	}
	for _, secret := range []string{"pw-301-secret", "pw-302-secret", sec["phone_admin_password"]} {
		if len(secret) < 8 || bytes.Contains(xml, []byte(secret)) {
			t.Errorf("preview leaks %q (or no generated phone admin password)", secret)
		}
	}

	b.announce("000B82778899", "198.18.0.21")
	for _, tt := range []struct {
		path string
		code int
		want string
	}{
		{"/api/phones/000B82778899/config", 409, "assignment"},
		{"/api/phones/000B82FFFFFF/config", 404, "no such phone"},
		{"/api/phones/nonsense/config", 400, "bad MAC"},
		{"/api/phones/000B82FFFFFF/secrets", 404, "no such phone"},
		{"/api/phones/nonsense/secrets", 400, "bad MAC"},
	} {
		var e apiError
		if code := b.admin.Call(t, "GET", tt.path, "", &e); code != tt.code || !strings.Contains(e.Error, tt.want) {
			t.Errorf("GET %s: %d %+v; want %d mentioning %q", tt.path, code, e, tt.code, tt.want)
		}
	}
}

// TestSettingsMasked: the site's phone admin password is never shown, and
// a client writing back what it read does not change it.
func TestSettingsMasked(t *testing.T) {
	b := newTestBox(t)
	var set map[string]any
	if code := b.admin.Call(t, "GET", "/api/settings", "", &set); code != 200 || set["provision_mode"] != "button" || set["phone_admin_password"] != "" {
		t.Fatalf("defaults: %d %v", code, set)
	}
	b.admin.Call(t, "PUT", "/api/settings", `{"phone_admin_password":"site-admin-pw"}`, &set)
	if set["phone_admin_password"] != "********" {
		t.Errorf("PUT answers the phone admin password: %v", set["phone_admin_password"])
	}
	if res := b.admin.Fetch(t, "GET", "/api/settings", "", nil); bytes.Contains(res.Body, []byte("site-admin-pw")) {
		t.Errorf("GET shows the phone admin password: %s", res.Body)
	}
	b.admin.Call(t, "PUT", "/api/settings", `{"phone_admin_password":"********","language":"de"}`, nil)
	b.admin.Call(t, "PUT", "/api/phones/000B82445566/assignment", `{"extension":"301","password":"pw-301-secret"}`, nil)
	var sec map[string]string
	b.admin.Call(t, "GET", "/api/phones/000B82445566/secrets", "", &sec)
	if sec["phone_admin_password"] != "site-admin-pw" {
		t.Errorf("echoing the mask changed the password to %q", sec["phone_admin_password"])
	}
	var e apiError
	if code := b.admin.Call(t, "PUT", "/api/settings", `{"provision_mode":"sometimes"}`, &e); code != 400 || e.Field != "provision_mode" {
		t.Errorf("bad provision_mode: %d %+v", code, e)
	}
}

// TestPhoneListStreamed: the phone list, written a part at a time, is
// byte for byte what encoding the whole list at once gives, across parts
// (600 phones: three parts of 256), with and without an empty store.
func TestPhoneListStreamed(t *testing.T) {
	b := newTestBox(t)
	whole := func() []byte {
		var out []phoneJSON
		for _, e := range b.coord.Phones() {
			out = append(out, toJSON(e))
		}
		if out == nil {
			out = []phoneJSON{}
		}
		w := httptest.NewRecorder()
		writeJSON(w, 200, out)
		return w.Body.Bytes()
	}
	check := func(n int) {
		res := b.admin.Fetch(t, "GET", "/api/phones", "", nil)
		if want := whole(); res.Code != 200 || !bytes.Equal(res.Body, want) {
			t.Fatalf("%d phones: %d, %d bytes, want the %d of the whole list:\n%.300s\nwant\n%.300s", n, res.Code, len(res.Body), len(want), res.Body, want)
		}
	}
	check(0)
	var csv strings.Builder
	csv.WriteString("mac,extension,password\n")
	for i := range 600 {
		fmt.Fprintf(&csv, "000B8240%04X,%d,pw-%d-secret\n", i, 1000+i, i)
	}
	if res := b.admin.Fetch(t, "POST", "/api/assignments/import", "text/csv", strings.NewReader(csv.String())); res.Code != 200 {
		t.Fatalf("import: %d %s", res.Code, res.Body)
	}
	b.announce("000B82112233", "198.18.0.10")
	check(601)
}
