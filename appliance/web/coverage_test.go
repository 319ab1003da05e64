package web

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// TestOpenAPICoverage: every operation in openapi.yaml is exercised at
// least once and its answer checked against the description (by the
// testBox's client), so the description cannot drift from the handler
// without a test failing.
func TestOpenAPICoverage(t *testing.T) {
	b := newTestBox(t)
	call := func(method, path, body string, want int) {
		t.Helper()
		if code := b.admin.Call(t, method, path, body, nil); code != want {
			t.Errorf("%s %s: %d, want %d", method, path, code, want)
		}
	}
	fetch := func(client string, method, path, ctype, body string, want int) []byte {
		t.Helper()
		c := b.admin
		if client == "anon" {
			c = b.anon
		}
		res := c.Fetch(t, method, path, ctype, strings.NewReader(body))
		if res.Code != want {
			t.Errorf("%s %s: %d, want %d: %s", method, path, res.Code, want, res.Body)
		}
		return res.Body
	}

	fetch("anon", "GET", "/healthz", "", "", 200)
	fetch("admin", "GET", "/", "", "", 200)
	call("GET", "/api/status", "", 200)
	call("PUT", "/api/settings", `{"sip_server":"pbx.example.net","p_values":{"P30":"pool.ntp.org"}}`, 200)
	call("GET", "/api/settings", "", 200)
	fetch("admin", "PATCH", "/api/settings", "application/merge-patch+json", `{"p_values":{"P30":null},"language":"de"}`, 200)
	b.announce("000B82112233", "198.18.0.10")
	call("PUT", "/api/phones/000B82112233/assignment", `{"extension":"201","password":"pw-201-secret"}`, 200)
	call("GET", "/api/phones", "", 200)
	call("GET", "/api/phones/000B82112233", "", 200)
	fetch("admin", "GET", "/api/phones/000B82112233/config", "", "", 200)
	call("GET", "/api/phones/000B82112233/secrets", "", 200)
	call("POST", "/api/phones/000B82112233/provision", "", 202)
	b.waitFor("the NOTIFY answered", func() bool { return b.notifier.Count() == 1 })
	call("POST", "/api/provision", "", 202)
	path := b.configPath("000B82112233")
	fetch("anon", "GET", path, "", "", 200)
	fetch("anon", "GET", strings.TrimSuffix(path, "cfg000B82112233"), "", "", 200)
	call("GET", "/api/events?limit=5", "", 200)
	fetch("admin", "POST", "/api/assignments/import?dry_run=1", "text/csv", "mac,extension,password\n000B82000001,202,pw-202-secret\n", 200)
	fetch("admin", "GET", "/api/assignments/export", "", "", 200)
	backup := fetch("admin", "GET", "/api/backup", "", "", 200)
	fetch("admin", "POST", "/api/restore", "application/octet-stream", string(backup), 200)
	call("GET", "/api/alerts", "", 200)
	call("POST", "/api/alerts/ack", "", 200)
	call("POST", "/api/button", `{"hold_ms":100}`, 202)
	call("GET", "/api/tls", "", 404) // HTTPS off here; tls_test.go covers it on
	call("PUT", "/api/tls", `{"certificate":"","key":""}`, 404)
	call("DELETE", "/api/phones/000B82112233/assignment", "", 204)
	call("DELETE", "/api/phones/000B82112233", "", 204)
	b.claim.Open(time.Minute)
	fetch("anon", "POST", "/api/claim", "application/json", `{"password":"`+adminPassword+`"}`, 200)

	spec, err := apiSpec()
	if err != nil {
		t.Fatal(err)
	}
	checked := b.admin.HTTP.Transport.(*specCheck).covered()
	var missing []string
	for _, op := range spec.operations() {
		if _, ok := checked[op]; !ok {
			missing = append(missing, op)
		}
	}
	if len(missing) > 0 {
		t.Errorf("operations in openapi.yaml no answer was checked against: %v", missing)
	}
	for op := range checked {
		if !slices.Contains(spec.operations(), op) {
			t.Errorf("checked %s, which the spec does not list", op)
		}
	}

}
