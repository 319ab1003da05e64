package web

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// TestDownloadGuards: token_bind_ip serves a config only to the phone's
// own address; download_budget refuses a config version after n
// downloads. Both off by default, and both leave an event.
func TestDownloadGuards(t *testing.T) {
	b := newTestBox(t)
	path, _ := b.assignedPhone()
	h := b.srv.Config.Handler
	get := func(ip string) int {
		r := httptest.NewRequest("GET", path, nil)
		r.RemoteAddr = ip + ":3000"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	if get("198.18.0.99") != 200 {
		t.Fatal("off by default: another address gets the config")
	}
	if code := b.admin.Call(t, "PATCH", "/api/settings", `{"token_bind_ip":true}`, nil); code != 200 {
		t.Fatal(code)
	}
	if code := get("198.18.0.99"); code != 404 {
		t.Errorf("token_bind_ip: the token from another address: %d, want 404", code)
	}
	if code := get("198.18.0.10"); code != 200 {
		t.Errorf("token_bind_ip: the phone's own address: %d, want 200", code)
	}
	if code := b.admin.Call(t, "PATCH", "/api/settings", `{"token_bind_ip":false,"download_budget":2}`, nil); code != 200 {
		t.Fatal(code)
	}
	codes := []int{get("198.18.0.10"), get("198.18.0.10"), get("198.18.0.10")}
	if codes[0] != 200 || codes[1] != 200 || codes[2] != 404 {
		t.Errorf("download_budget 2: %v, want 200 200 404", codes)
	}
	// A new config version has a new budget.
	if code := b.admin.Call(t, "PUT", "/api/phones/000B82112233/assignment", `{"extension":"202","password":"pw-202-secret"}`, nil); code != 200 {
		t.Fatal(code)
	}
	if code := get("198.18.0.10"); code != 200 {
		t.Errorf("download_budget after the config changed: %d, want 200", code)
	}
	if code := b.admin.Call(t, "PATCH", "/api/settings", `{"download_budget":-1}`, nil); code != 400 {
		t.Errorf("download_budget -1: %d, want 400", code)
	}
	var evs []struct {
		Detail string `json:"detail"`
	}
	b.admin.Call(t, "GET", "/api/events?limit=100", "", &evs)
	var all strings.Builder
	for _, e := range evs {
		all.WriteString(e.Detail + "\n")
	}
	for _, want := range []string{"token_bind_ip", "download_budget"} {
		if !strings.Contains(all.String(), want) {
			t.Errorf("no event mentions %s:\n%s", want, all.String())
		}
	}
}
