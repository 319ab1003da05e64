package web

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestAuth(t *testing.T) {
	b := newTestBox(t)
	wrong := *b.admin
	wrong.Password = "not-the-password"
	for _, path := range []string{"/api/phones", "/api/status", "/"} {
		for _, c := range []struct {
			who  string
			code int
			resp func() (int, http.Header, []byte)
		}{
			{"no credentials", 401, func() (int, http.Header, []byte) {
				r := b.anon.Fetch(t, "GET", path, "", nil)
				return r.Code, r.Header, r.Body
			}},
			{"wrong password", 401, func() (int, http.Header, []byte) {
				r := wrong.Fetch(t, "GET", path, "", nil)
				return r.Code, r.Header, r.Body
			}},
			{"admin", 200, func() (int, http.Header, []byte) {
				r := b.admin.Fetch(t, "GET", path, "", nil)
				return r.Code, r.Header, r.Body
			}},
		} {
			code, h, body := c.resp()
			if code != c.code {
				t.Errorf("GET %s with %s: %d, want %d", path, c.who, code, c.code)
			}
			if code == 401 && (!strings.HasPrefix(h.Get("WWW-Authenticate"), `Basic realm="pnpbox"`) || !strings.Contains(string(body), "log in as admin")) {
				t.Errorf("GET %s with %s: WWW-Authenticate %q, body %s", path, c.who, h.Get("WWW-Authenticate"), body)
			}
		}
	}
	// Another user name with the right password is not admin.
	other := *b.admin
	req, _ := http.NewRequest("GET", b.srv.URL+"/api/status", nil)
	req.SetBasicAuth("root", adminPassword)
	res, err := other.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Errorf("user root: %d, want 401", res.StatusCode)
	}
	// Neither /healthz nor the provisioning files need a login.
	if r := b.anon.Fetch(t, "GET", "/healthz", "", nil); r.Code != 200 {
		t.Errorf("/healthz without login: %d", r.Code)
	}
}

// TestFirstBoot: with no admin password set nobody can log in, and the
// answer says how to set one; the claim flow sets it.
func TestFirstBoot(t *testing.T) {
	b := newTestBox(t, func(o *boxOptions) { o.noAdmin = true })
	var e apiError
	if code := b.admin.Call(t, "GET", "/api/status", "", &e); code != 401 || !strings.Contains(e.Error, "-admin-password") {
		t.Errorf("before a password is set: %d %+v", code, e)
	}
	b.claim.Open(time.Minute) // the long press
	if code := b.anon.Call(t, "POST", "/api/claim", `{"password":"`+adminPassword+`"}`, &e); code != 200 {
		t.Fatalf("claim: %d %+v", code, e)
	}
	if code := b.admin.Call(t, "GET", "/api/status", "", nil); code != 200 {
		t.Errorf("after the claim: %d", code)
	}
	for _, body := range []string{`{"password":`, `{"pw":"x"}`} {
		b.claim.Open(time.Minute)
		if code := b.anon.Call(t, "POST", "/api/claim", body, &e); code != 400 || !strings.Contains(e.Error, "claim:") {
			t.Errorf("claim with %s: %d %+v", body, code, e)
		}
	}
}

// TestLoginThrottled: five wrong passwords lock the address out for a
// minute (Retry-After counts down), even for the right password; the next
// streak locks it out twice as long.
func TestLoginThrottled(t *testing.T) {
	b := newTestBox(t)
	wrong := *b.admin
	fail5 := func() {
		t.Helper()
		for i := range 5 {
			wrong.Password = fmt.Sprintf("wrong-%d", i)
			if code := wrong.Call(t, "GET", "/api/status", "", nil); code != 401 {
				t.Fatalf("attempt %d: %d", i, code)
			}
		}
	}
	locked := func(retryAfter string) {
		t.Helper()
		res := b.admin.Fetch(t, "GET", "/api/status", "", nil)
		var e apiError
		res.Decode(&e)
		if res.Code != 429 || res.Header.Get("Retry-After") != retryAfter || !strings.Contains(e.Error, "too many failed logins") {
			t.Errorf("right password while locked out: %d, Retry-After %q, %+v; want 429, %q", res.Code, res.Header.Get("Retry-After"), e, retryAfter)
		}
	}
	fail5()
	locked("61")
	b.clock.advance(30 * time.Second)
	locked("31")
	if r := b.anon.Fetch(t, "GET", "/healthz", "", nil); r.Code != 200 {
		t.Errorf("/healthz while locked out: %d", r.Code)
	}
	b.clock.advance(31 * time.Second)
	fail5() // the next streak, without a good login in between
	locked("121")
	b.clock.advance(121 * time.Second)
	if code := b.admin.Call(t, "GET", "/api/status", "", nil); code != 200 {
		t.Fatalf("after two minutes: %d", code)
	}
}

// TestCrossOrigin: a browser on another site cannot make the box change
// anything with the admin's credentials (CSRF); reading is not refused.
func TestCrossOrigin(t *testing.T) {
	b := newTestBox(t)
	for _, tt := range []struct {
		method, path string
		code         int
	}{
		{"POST", "/api/provision", 403},
		{"PUT", "/api/phones/000B82112233/assignment", 403},
		{"POST", "/api/claim", 403},
		{"GET", "/api/phones", 200},
	} {
		req, _ := http.NewRequest(tt.method, b.srv.URL+tt.path, strings.NewReader(`{"extension":"201"}`))
		req.SetBasicAuth("admin", adminPassword)
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		req.Header.Set("Origin", "http://evil.example")
		res, err := b.admin.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tt.code {
			t.Errorf("cross-origin %s %s: %d, want %d", tt.method, tt.path, res.StatusCode, tt.code)
		}
	}
	if code := b.admin.Call(t, "GET", "/api/phones/000B82112233", "", nil); code != 404 {
		t.Errorf("the cross-origin PUT stored something: %d", code)
	}
}
