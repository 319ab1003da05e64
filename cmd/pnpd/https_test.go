package main

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pnpbox/pnpbox/internal/apiclient"
)

// pinnedClient trusts exactly the certificate whose SHA-256 is fp, the way
// an installer who compared the fingerprint does. fp "" trusts any and
// records it in *seen.
func pinnedClient(fp string, seen *string) *http.Client {
	return &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, //nolint:gosec // pinned below
			VerifyConnection: func(cs tls.ConnectionState) error {
				sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
				got := hex.EncodeToString(sum[:])
				if seen != nil {
					*seen = got
				}
				if fp != "" && got != fp {
					return &tls.CertificateVerificationError{Err: io.ErrUnexpectedEOF}
				}
				return nil
			}}},
	}
}

// TestHTTPS: pnpd serves the API on its own certificate, whose fingerprint
// /api/status shows; keeps it across a restart; https_only redirects
// plain HTTP except provisioning and /healthz; and config_protocol https
// makes the config URL and the config server path point at the HTTPS port.
func TestHTTPS(t *testing.T) {
	d := startDaemon(t)
	if d.https == "" {
		t.Fatal("no HTTPS listener")
	}
	var seen string
	c := &apiclient.Client{Base: "https://" + d.https, Password: testPassword, HTTP: pinnedClient("", &seen)}
	var st struct {
		TLS string `json:"tls_sha256"`
	}
	if code := c.Call(t, "GET", "/api/status", "", &st); code != 200 || st.TLS == "" || st.TLS != seen {
		t.Fatalf("status over HTTPS: %d, tls_sha256 %q, served %q", code, st.TLS, seen)
	}

	// https_only.
	if code := d.api(t, "PATCH", "/api/settings", `{"https_only":true}`, nil); code != 200 {
		t.Fatalf("PATCH https_only: %d", code)
	}
	plain := pinnedClient("", nil)
	res, err := plain.Get(d.base + "/api/status")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, _ := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusPermanentRedirect || loc == nil || loc.Scheme != "https" || loc.Port() != strings.Split(d.https, ":")[1] {
		t.Errorf("plain /api/status with https_only: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	for _, p := range []string{"/healthz", "/p/0123456789abcdef0123456789abcdef/cfg.xml"} {
		res, err := plain.Get(d.base + p)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode == http.StatusPermanentRedirect {
			t.Errorf("%s redirected: provisioning and health stay on plain HTTP", p)
		}
	}

	// Provisioning over HTTPS.
	if code := c.Call(t, "PATCH", "/api/settings", `{"config_protocol":"https","sip_server":"pbx.example.net"}`, nil); code != 200 {
		t.Fatalf("config_protocol https: %d", code)
	}
	if code := c.Call(t, "PUT", "/api/phones/000B82AA0001/assignment", `{"extension":"201","password":"pw-201-secret-x"}`, nil); code != 200 {
		t.Fatalf("assign: %d", code)
	}
	var ph struct {
		ConfigURL string `json:"config_url"`
	}
	c.Call(t, "GET", "/api/phones/000B82AA0001", "", &ph)
	u, err := url.Parse(ph.ConfigURL)
	if err != nil || u.Scheme != "https" || u.Port() != strings.Split(d.https, ":")[1] {
		t.Fatalf("config_url %q: want https on the HTTPS port %s", ph.ConfigURL, d.https)
	}
	u.Host = d.https // the box's loopback address, whatever address the URL names
	pinned := pinnedClient(st.TLS, nil)
	res, err = pinned.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("config over HTTPS: %d", res.StatusCode)
	}
	for _, want := range []string{"<P212>2</P212>", ":" + strings.Split(d.https, ":")[1] + "/p/"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("config lacks %q (P212 and P237 must follow HTTPS)", want)
		}
	}

	// The certificate survives a restart (a phone or browser pinned it).
	data := d.data
	d.stop(t)
	d2 := startDaemon(t, "-data", data)
	var st2 struct {
		TLS string `json:"tls_sha256"`
	}
	c2 := &apiclient.Client{Base: "https://" + d2.https, Password: testPassword, HTTP: pinnedClient(st.TLS, nil)}
	c2.Call(t, "GET", "/api/status", "", &st2)
	if st2.TLS != st.TLS {
		t.Errorf("after restart tls_sha256 %s, was %s", st2.TLS, st.TLS)
	}
}

// TestHTTPSProtocolNeedsListener: config_protocol https to the box is
// refused when the box has no HTTPS listener.
func TestHTTPSProtocolNeedsListener(t *testing.T) {
	d := startDaemon(t, "-https", "off")
	if d.https != "" {
		t.Fatalf("-https off still listens on %s", d.https)
	}
	if code := d.api(t, "PATCH", "/api/settings", `{"config_protocol":"https"}`, nil); code != 400 {
		t.Errorf("config_protocol https without HTTPS: %d, want 400", code)
	}
}
