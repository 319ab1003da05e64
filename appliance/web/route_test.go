package web

import (
	"strings"
	"testing"
)

// TestMethodNotAllowed: a path that is served, asked with another method,
// is 405 with Allow listing the methods it takes; an unknown path stays
// 404. Under /api/ both are JSON errors, after the login.
func TestMethodNotAllowed(t *testing.T) {
	b := newTestBox(t)
	for _, tt := range []struct {
		method, path string
		code         int
		allow        string
	}{
		{"POST", "/api/phones/000B82112233", 405, "GET, HEAD, DELETE"}, // DELETE forgets the phone
		{"PUT", "/api/phones", 405, "GET, HEAD"},
		{"GET", "/api/phones/000B82112233/assignment", 405, "PUT, DELETE"},
		{"POST", "/api/phones/000B82112233/assignment", 405, "PUT, DELETE"},
		{"GET", "/api/phones/000B82112233/provision", 405, "POST"},
		{"GET", "/api/provision", 405, "POST"},
		{"DELETE", "/api/status", 405, "GET, HEAD"},
		{"DELETE", "/api/phones", 405, "GET, HEAD"},
		{"POST", "/api/assignments/export", 405, "GET, HEAD"},
		{"GET", "/api/assignments/import", 405, "POST"},
		{"GET", "/api/restore", 405, "POST"},
		{"POST", "/api/backup", 405, "GET, HEAD"},
		{"GET", "/api/alerts/ack", 405, "POST"},
		{"PUT", "/api/alerts", 405, "GET, HEAD"},
		{"GET", "/api/button", 405, "POST"},
		{"GET", "/api/claim", 405, "POST"}, // served outside the login, still listed
		{"POST", "/", 405, "GET, HEAD"},
		{"POST", "/healthz", 405, "GET, HEAD"},
		{"DELETE", "/p/00000000000000000000000000000000/cfg.xml", 405, "GET, HEAD"},
		{"GET", "/api/nothing", 404, ""},
		{"DELETE", "/api/nothing", 404, ""},
		{"GET", "/api/phones/000B82112233/nothing", 404, ""},
		{"GET", "/api/", 404, ""},
		{"GET", "/nothing", 404, ""},
		{"POST", "/nothing", 404, ""},
	} {
		res := b.admin.Fetch(t, tt.method, tt.path, "", nil)
		if res.Code != tt.code || res.Header.Get("Allow") != tt.allow {
			t.Errorf("%s %s: %d, Allow %q; want %d, Allow %q", tt.method, tt.path, res.Code, res.Header.Get("Allow"), tt.code, tt.allow)
		}
		if !strings.HasPrefix(tt.path, "/api/") {
			continue
		}
		var e apiError
		if err := res.Decode(&e); err != nil || e.Error == "" {
			t.Errorf("%s %s: not a JSON error: %v %s", tt.method, tt.path, err, res.Body)
		}
		if tt.code == 405 && !strings.Contains(e.Error, "use "+tt.allow) {
			t.Errorf("%s %s: error %q does not say what to use", tt.method, tt.path, e.Error)
		}
		if tt.code == 404 && !strings.Contains(e.Error, "no such API endpoint") {
			t.Errorf("%s %s: error %q", tt.method, tt.path, e.Error)
		}
	}

	// The login comes first: without it a wrong method says 401, not
	// which methods exist.
	if res := b.anon.Fetch(t, "DELETE", "/api/phones/000B82112233", "", nil); res.Code != 401 || res.Header.Get("Allow") != "" {
		t.Errorf("wrong method without login: %d, Allow %q; want 401 and no Allow", res.Code, res.Header.Get("Allow"))
	}
	// A GET route answers HEAD.
	if res := b.admin.Fetch(t, "HEAD", "/api/status", "", nil); res.Code != 200 {
		t.Errorf("HEAD /api/status: %d", res.Code)
	}
}
