package web

import (
	"strings"
	"testing"
)

// TestForgetPhoneAPI: DELETE /api/phones/{mac} removes a phone the box has
// seen, with its assignment; its config URL stops working.
func TestForgetPhoneAPI(t *testing.T) {
	b := newTestBox(t)
	b.announce("000B82445566", "198.18.0.20")
	if code := b.admin.Call(t, "PUT", "/api/phones/000B82445566/assignment", `{"extension":"301","password":"pw-301-secret"}`, nil); code != 200 {
		t.Fatalf("assign: %d", code)
	}
	path := b.configPath("000B82445566")
	if res := b.anon.Fetch(t, "GET", path, "", nil); res.Code != 200 {
		t.Fatalf("config before forgetting: %d", res.Code)
	}
	if code := b.admin.Call(t, "DELETE", "/api/phones/00:0b:82:44:55:66", "", nil); code != 204 {
		t.Fatalf("DELETE: %d, want 204", code)
	}
	if code := b.admin.Call(t, "GET", "/api/phones/000B82445566", "", nil); code != 404 {
		t.Errorf("forgotten phone: %d, want 404", code)
	}
	if res := b.anon.Fetch(t, "GET", path, "", nil); res.Code != 404 {
		t.Errorf("forgotten phone's config URL: %d, want 404", res.Code)
	}
	for _, tt := range []struct {
		path string
		code int
		want string
	}{
		{"/api/phones/000B82445566", 404, "no such phone"},
		{"/api/phones/nonsense", 400, "bad MAC"},
	} {
		var e apiError
		if code := b.admin.Call(t, "DELETE", tt.path, "", &e); code != tt.code || !strings.Contains(e.Error, tt.want) {
			t.Errorf("DELETE %s: %d %+v, want %d %q", tt.path, code, e, tt.code, tt.want)
		}
	}
	if code := b.anon.Call(t, "DELETE", "/api/phones/000B82445566", "", nil); code != 401 {
		t.Errorf("DELETE without credentials: %d, want 401", code)
	}
}
