package web

import (
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/pnpbox/pnpbox/appliance/tlscert"
)

func withTLS(t *testing.T) (*tlscert.Store, func(*boxOptions)) {
	t.Helper()
	st, err := tlscert.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return st, func(o *boxOptions) { o.tls = st }
}

// TestTLSAPI: the fingerprint is in /api/status and /api/tls, an
// unusable upload changes nothing, and a good one is served from then on.
func TestTLSAPI(t *testing.T) {
	st, opt := withTLS(t)
	b := newTestBox(t, opt)
	var status struct {
		TLS string `json:"tls_sha256"`
	}
	if code := b.admin.Call(t, "GET", "/api/status", "", &status); code != 200 || status.TLS != st.Fingerprint() || len(status.TLS) != 64 {
		t.Fatalf("status: %d, tls_sha256 %q, want %q", code, status.TLS, st.Fingerprint())
	}
	var info tlscert.Info
	if code := b.admin.Call(t, "GET", "/api/tls", "", &info); code != 200 || info.SHA256 != st.Fingerprint() || !info.SelfSigned {
		t.Fatalf("GET /api/tls: %d %+v", code, info)
	}

	pair, err := tlscert.SelfSigned(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c, rest := pem.Decode(pair)
	k, _ := pem.Decode(rest)
	cert, key := string(pem.EncodeToMemory(c)), string(pem.EncodeToMemory(k))
	other, _ := tlscert.SelfSigned(time.Now())
	_, orest := pem.Decode(other)
	ok, _ := pem.Decode(orest)
	body := func(cert, key string) string {
		b, _ := json.Marshal(map[string]string{"certificate": cert, "key": key})
		return string(b)
	}
	old := st.Fingerprint()
	if code := b.admin.Call(t, "PUT", "/api/tls", body(cert, string(pem.EncodeToMemory(ok))), nil); code != 400 {
		t.Errorf("mismatched key: %d, want 400", code)
	}
	if code := b.anon.Call(t, "PUT", "/api/tls", body(cert, key), nil); code != 401 {
		t.Errorf("without login: %d, want 401", code)
	}
	if st.Fingerprint() != old {
		t.Fatal("a refused upload replaced the certificate")
	}
	var got tlscert.Info
	if code := b.admin.Call(t, "PUT", "/api/tls", body(cert, key), &got); code != 200 || got.SHA256 == old || st.Fingerprint() != got.SHA256 {
		t.Fatalf("upload: %d %+v", code, got)
	}
}

// TestHTTPSOnly: with https_only on, plain HTTP redirects the page and the
// API to the HTTPS port but keeps serving provisioning files and /healthz.
func TestHTTPSOnly(t *testing.T) {
	b := newTestBox(t)
	on := false
	h := HTTPSOnly(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(299) }),
		func() bool { return on }, func() int { return 8443 })
	get := func(target, host string) *http.Response {
		r := httptest.NewRequest("GET", target, nil)
		r.Host = host
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Result()
	}
	if res := get("/api/status", "198.18.0.1"); res.StatusCode != 299 {
		t.Fatalf("https_only off: %d", res.StatusCode)
	}
	on = true
	for _, c := range []struct{ target, host, loc string }{
		{"/", "198.18.0.1", "https://198.18.0.1:8443/"},
		{"/api/status?x=1", "198.18.0.1:80", "https://198.18.0.1:8443/api/status?x=1"},
		{"/api/phones", "pnpbox.local", "https://pnpbox.local:8443/api/phones"},
		{"/", "[fd00::1]:80", "https://[fd00::1]:8443/"},
	} {
		res := get(c.target, c.host)
		if res.StatusCode != http.StatusPermanentRedirect || res.Header.Get("Location") != c.loc {
			t.Errorf("%s (Host %s): %d to %q, want 308 to %q", c.target, c.host, res.StatusCode, res.Header.Get("Location"), c.loc)
		}
	}
	for _, p := range []string{"/healthz", "/p/abc/cfg000B82112233.xml", "/p/abc/"} {
		if res := get(p, "198.18.0.1"); res.StatusCode != 299 {
			t.Errorf("%s: %d, want served on plain HTTP", p, res.StatusCode)
		}
	}
	if res := get("/", "evil.example/x"); res.StatusCode != 400 {
		t.Errorf("a Host with a path: %d, want 400", res.StatusCode)
	}
	// The setting itself round-trips through the API.
	var set struct {
		HTTPSOnly bool `json:"https_only"`
	}
	if code := b.admin.Call(t, "PATCH", "/api/settings", `{"https_only":true}`, &set); code != 200 || !set.HTTPSOnly {
		t.Fatalf("PATCH https_only: %d %+v", code, set)
	}
	if !b.coord.Settings().HTTPSOnly {
		t.Fatal("https_only not kept")
	}
}
