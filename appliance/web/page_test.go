package web

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/appliance/panel"
	"github.com/pnpbox/pnpbox/appliance/provision"
	"github.com/pnpbox/pnpbox/appliance/provision/provisiontest"
	"github.com/pnpbox/pnpbox/appliance/store"
)

const pagePassword = "page-admin-pw-1"

// pageClock is a settable time source for session expiry.
type pageClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *pageClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *pageClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// pageBox is the handler over a real coordinator and store, on loopback.
type pageBox struct {
	t     testing.TB
	coord *provision.Coordinator
	claim *panel.Claim
	clock *pageClock
	srv   *httptest.Server
	h     http.Handler
	c     *http.Client // keeps cookies, does not follow redirects
}

func newPageBox(t testing.TB, withAdmin bool) *pageBox {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "phones.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	coord, err := provision.New(provision.Config{Store: st, Notifier: &provisiontest.Notifier{}, HTTPPort: 80})
	if err != nil {
		t.Fatal(err)
	}
	if withAdmin {
		if err := coord.SetAdminPassword(pagePassword); err != nil {
			t.Fatal(err)
		}
	}
	b := &pageBox{t: t, coord: coord, claim: &panel.Claim{}, clock: &pageClock{t: time.Now()}}
	b.h = New(Deps{Coord: coord, Claim: b.claim, Now: b.clock.now, TempDir: t.TempDir(),
		Box: func() Box {
			return Box{Started: time.Now(), LED: "pending", Interface: "lan0", Interfaces: []Iface{
				{Name: "lan0", Addresses: []netip.Prefix{netip.MustParsePrefix("192.0.2.10/24")}, Joined: true}}}
		}})
	b.srv = httptest.NewServer(b.h)
	t.Cleanup(b.srv.Close)
	jar, _ := cookiejar.New(nil)
	b.c = &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return b
}

// do sends a request with this browser's cookies and returns the status
// and body.
func (b *pageBox) do(req *http.Request) (*http.Response, string) {
	b.t.Helper()
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "text/html,application/xhtml+xml") // as a browser asks
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

func (b *pageBox) get(path string) (*http.Response, string) {
	b.t.Helper()
	req, _ := http.NewRequest("GET", b.srv.URL+path, nil)
	return b.do(req)
}

func (b *pageBox) post(path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

func (b *pageBox) upload(path, field, name, content string, extra url.Values) (*http.Response, string) {
	b.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, vs := range extra {
		for _, v := range vs {
			mw.WriteField(k, v)
		}
	}
	fw, _ := mw.CreateFormFile(field, name)
	io.WriteString(fw, content)
	mw.Close()
	req, _ := http.NewRequest("POST", b.srv.URL+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return b.do(req)
}

func (b *pageBox) login() {
	b.t.Helper()
	res, body := b.post("/login", url.Values{"password": {pagePassword}})
	if res.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("login: %d\n%s", res.StatusCode, body)
	}
}

// wantPage fails unless res has code and body contains every string.
func wantPage(t *testing.T, what string, res *http.Response, body string, code int, has ...string) {
	t.Helper()
	if res.StatusCode != code {
		t.Errorf("%s: status %d, want %d", what, res.StatusCode, code)
	}
	for _, s := range has {
		if !strings.Contains(body, s) {
			t.Errorf("%s: the page lacks %q", what, s)
		}
	}
}

func TestFirstBootClaimSetsPasswordAndLogsIn(t *testing.T) {
	b := newPageBox(t, false)
	res, body := b.get("/")
	wantPage(t, "first visit", res, body, 200, "no admin password yet", "Hold the box's button for 5 seconds", "Claim mode is not open")
	if strings.Contains(body, `action="/setup"`) {
		t.Error("the set-password form is offered while claim mode is closed")
	}
	res, body = b.post("/setup", url.Values{"password": {"new-admin-pw"}, "confirm": {"new-admin-pw"}})
	wantPage(t, "setup with claim mode closed", res, body, 403, "Claim mode is not open")
	if b.coord.HasAdmin() {
		t.Fatal("password set without claim mode")
	}

	b.claim.Open(panel.ClaimFor) // the long press
	res, body = b.get("/")
	wantPage(t, "claim mode open", res, body, 200, `action="/setup"`, "Set the admin password")
	res, body = b.post("/setup", url.Values{"password": {"new-admin-pw"}, "confirm": {"other-admin-pw"}})
	wantPage(t, "different passwords", res, body, 400, "The two passwords differ")
	res, body = b.post("/setup", url.Values{"password": {"short"}, "confirm": {"short"}})
	wantPage(t, "short password", res, body, 400, "at least 8 characters")
	res, body = b.post("/setup", url.Values{"password": {"new-admin-pw"}, "confirm": {"new-admin-pw"}})
	if res.StatusCode != 303 || !b.coord.CheckAdmin("new-admin-pw") {
		t.Fatalf("setup: %d %s", res.StatusCode, body)
	}
	res, body = b.get("/")
	wantPage(t, "after setup", res, body, 200, "Provision all pending (0)", "Log out")
	if b.claim.Remaining() != 0 {
		t.Error("claim mode still open after the password was set")
	}
}

func TestLoginCookieLogoutAndAPI(t *testing.T) {
	b := newPageBox(t, true)
	b.coord.Assign(pageMAC(t, "000B82A1B2C3"), appliance.Assignment{Extension: "201", Password: "sip-secret-201"})
	res, body := b.get("/")
	wantPage(t, "stranger", res, body, 200, "Log in", `autocomplete="current-password"`)
	if strings.Contains(body, "000B82A1B2C3") || strings.Contains(body, "201") || strings.Contains(body, "Provision") {
		t.Error("a stranger sees phones before logging in")
	}
	res, body = b.post("/login", url.Values{"password": {"wrong-password"}})
	wantPage(t, "wrong password", res, body, 401, "Wrong password")

	res, _ = b.post("/login", url.Values{"password": {pagePassword}})
	var c *http.Cookie
	for _, k := range res.Cookies() {
		if k.Name == sessionCookie {
			c = k
		}
	}
	if res.StatusCode != 303 || c == nil {
		t.Fatalf("login: %d, cookie %v", res.StatusCode, c)
	}
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure || len(c.Value) < 43 {
		t.Errorf("session cookie: HttpOnly %v SameSite %v Secure %v len %d; want HttpOnly, Strict, not Secure over HTTP, 256 bits",
			c.HttpOnly, c.SameSite, c.Secure, len(c.Value))
	}
	res, body = b.get("/")
	wantPage(t, "logged in", res, body, 200, "000B82A1B2C3", "Provision all pending (1)")
	if strings.Contains(body, "sip-secret-201") {
		t.Error("the SIP password is in the page")
	}
	// The API takes the page's session as well as HTTP Basic.
	res, body = b.get("/api/phones")
	wantPage(t, "API with the session", res, body, 200, `"mac": "000B82A1B2C3"`)

	res, _ = b.post("/logout", nil)
	if res.StatusCode != 303 {
		t.Errorf("logout: %d", res.StatusCode)
	}
	res, _ = b.get("/settings")
	if res.StatusCode != 303 || res.Header.Get("Location") != "/" {
		t.Errorf("settings after logout: %d → %q, want 303 → /", res.StatusCode, res.Header.Get("Location"))
	}
	res, _ = b.get("/phones/live")
	wantPage(t, "live table after logout", res, "", 401)
	// A stolen cookie is useless after logout.
	req, _ := http.NewRequest("GET", b.srv.URL+"/api/phones", nil)
	req.AddCookie(c)
	res, _ = b.do(req)
	wantPage(t, "API with the ended session", res, "", 401)
}

func TestLoginBackoffSharedWithAPI(t *testing.T) {
	b := newPageBox(t, true)
	for i := range 5 {
		res, _ := b.post("/login", url.Values{"password": {fmt.Sprintf("guess-%d", i)}})
		if res.StatusCode != 401 {
			t.Fatalf("guess %d: %d, want 401", i, res.StatusCode)
		}
	}
	res, body := b.post("/login", url.Values{"password": {pagePassword}})
	wantPage(t, "after 5 wrong passwords", res, body, 429, "Too many wrong passwords")
	if ra := res.Header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Errorf("Retry-After %q", ra)
	}
	req, _ := http.NewRequest("GET", b.srv.URL+"/api/status", nil)
	req.SetBasicAuth("admin", pagePassword)
	res, _ = b.do(req)
	wantPage(t, "API from the same address", res, "", 429)
	b.clock.add(61 * time.Second)
	b.login()
}

func TestSessionExpiry(t *testing.T) {
	b := newPageBox(t, true)
	b.login()
	b.clock.add(sessionIdle - time.Minute)
	if res, _ := b.get("/settings"); res.StatusCode != 200 {
		t.Fatalf("settings within the idle time: %d", res.StatusCode)
	}
	b.clock.add(sessionIdle + time.Second)
	if res, _ := b.get("/settings"); res.StatusCode != 303 {
		t.Errorf("settings after %v idle: %d, want 303 to the login", sessionIdle, res.StatusCode)
	}

	// Busy all day: the session still ends after sessionMax.
	b.login()
	for elapsed := time.Duration(0); elapsed < sessionMax-20*time.Minute; elapsed += 20 * time.Minute {
		b.clock.add(20 * time.Minute)
		if res, _ := b.get("/phones/live"); res.StatusCode != 200 {
			t.Fatalf("live table after %v of use: %d", elapsed, res.StatusCode)
		}
	}
	b.clock.add(21 * time.Minute)
	if res, _ := b.get("/phones/live"); res.StatusCode != 401 {
		t.Errorf("live table after %v: %d, want 401", sessionMax, res.StatusCode)
	}
}

func TestHostCheck(t *testing.T) {
	for _, tc := range []struct {
		host string
		ok   bool
	}{
		{"192.0.2.10", true}, {"192.0.2.10:8080", true}, {"127.0.0.1:80", true}, {"[::1]:80", true},
		{"localhost", true}, {"LOCALHOST:8080", true}, {"pnpbox.local", true}, {"pnpbox-1a2b.local", true},
		{"pnpbox-1a2b.local.", true}, {"myhost", true}, {"myhost.local", true},
		{"192.0.2.11", false}, {"evil.example", false}, {"pnpbox-1a2b.evil.example", false}, {"pnpbox-xyz1.local", false},
		{"10.0.0.1", false}, {"", false}, {"localhost.evil.example", false},
	} {
		if got := hostAllowed(tc.host, []netip.Addr{netip.MustParseAddr("192.0.2.10")}, []string{"myhost"}); got != tc.ok {
			t.Errorf("hostAllowed(%q) = %v, want %v", tc.host, got, tc.ok)
		}
	}

	b := newPageBox(t, false)
	b.claim.Open(panel.ClaimFor)
	for _, path := range []string{"/", "/login", "/setup", "/api/claim", "/assets/page.css"} {
		method := "POST"
		if path == "/" || strings.HasPrefix(path, "/assets") {
			method = "GET"
		}
		req, _ := http.NewRequest(method, b.srv.URL+path, strings.NewReader("password=rebound-pw-1&confirm=rebound-pw-1"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Host = "attacker.example"
		res, _ := b.do(req)
		if res.StatusCode != http.StatusMisdirectedRequest {
			t.Errorf("%s %s with Host attacker.example: %d, want 421", method, path, res.StatusCode)
		}
	}
	if b.coord.HasAdmin() {
		t.Error("a rebound page set the admin password")
	}
	req, _ := http.NewRequest("GET", b.srv.URL+"/", nil)
	req.Host = "192.0.2.10"
	if res, _ := b.do(req); res.StatusCode != 200 {
		t.Errorf("GET / by the box's address: %d", res.StatusCode)
	}
}

func TestCrossSiteWritesRefused(t *testing.T) {
	b := newPageBox(t, true)
	b.login()
	m := pageMAC(t, "000B82A1B2C3")
	for _, h := range []map[string]string{
		{"Sec-Fetch-Site": "cross-site"},
		{"Origin": "http://attacker.example"},
	} {
		for _, path := range []string{"/provision", "/settings", "/phones/000B82A1B2C3/edit", "/add", "/logout"} {
			req, _ := http.NewRequest("POST", b.srv.URL+path, strings.NewReader("mac=000B82A1B2C3&extension=201&password=pw-201-abc&do=save&sip_server=evil.example"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range h {
				req.Header.Set(k, v)
			}
			if res, _ := b.do(req); res.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s with %v: %d, want 403", path, h, res.StatusCode)
			}
		}
	}
	if _, err := b.coord.Phone(m); err == nil {
		t.Error("a cross-site form pre-staged a phone")
	}
	if b.coord.Settings().SIPServer != "" {
		t.Error("a cross-site form changed the settings")
	}
}

func pageMAC(t testing.TB, s string) appliance.MAC {
	t.Helper()
	m, err := appliance.ParseMAC(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestPageWithHTTPBasic: a script may read the page with the API's
// credentials; wrong ones count towards the same back-off.
func TestPageWithHTTPBasic(t *testing.T) {
	b := newPageBox(t, true)
	b.coord.Assign(pageMAC(t, "000B82A1B2C3"), appliance.Assignment{Extension: "201", Password: "sip-secret-201"})
	get := func(pw string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", b.srv.URL+"/", nil)
		req.SetBasicAuth("admin", pw)
		return b.do(req)
	}
	res, body := get(pagePassword)
	wantPage(t, "GET / with Basic", res, body, 200, "000B82A1B2C3")
	if len(res.Cookies()) != 0 {
		t.Error("Basic auth started a session")
	}
	for range 5 {
		res, body = get("wrong-password")
		if res.StatusCode != 200 || strings.Contains(body, "000B82A1B2C3") {
			t.Fatalf("wrong Basic password: %d, phones shown: %v", res.StatusCode, strings.Contains(body, "000B82A1B2C3"))
		}
	}
	_, body = get(pagePassword)
	if strings.Contains(body, "000B82A1B2C3") {
		t.Error("Basic auth worked while the address is locked out")
	}
}

// TestSecureCookieOverHTTPS: over TLS the session cookie is Secure.
func TestSecureCookieOverHTTPS(t *testing.T) {
	b := newPageBox(t, true)
	srv := httptest.NewTLSServer(b.h)
	defer srv.Close()
	c := srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := c.PostForm(srv.URL+"/login", url.Values{"password": {pagePassword}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var found bool
	for _, k := range res.Cookies() {
		if k.Name == sessionCookie {
			found = true
			if !k.Secure || !k.HttpOnly || k.SameSite != http.SameSiteStrictMode {
				t.Errorf("cookie over HTTPS: Secure %v HttpOnly %v SameSite %v", k.Secure, k.HttpOnly, k.SameSite)
			}
		}
	}
	if res.StatusCode != 303 || !found {
		t.Errorf("login over HTTPS: %d, cookie %v", res.StatusCode, found)
	}
}
