package main

import (
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/pnpbox/pnpbox/appliance/tlscert"
)

// tlsServer serves 200 on a fresh self-signed certificate.
func tlsServer(t *testing.T) *httptest.Server {
	t.Helper()
	pair, err := tlscert.SelfSigned(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(pair, pair)
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	s.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

// TestCertPin: a phone with validation off accepts the box's self-signed
// certificate, keeps accepting it, and refuses another one later.
func TestCertPin(t *testing.T) {
	box, rogue := tlsServer(t), tlsServer(t)
	c := newHTTPClient(netip.MustParseAddr("127.0.0.1"), 5*time.Second)
	for range 2 {
		res, err := c.Get(box.URL)
		if err != nil {
			t.Fatalf("the box's certificate: %v", err)
		}
		res.Body.Close()
	}
	if _, err := c.Get(rogue.URL); !errors.Is(err, errCertChanged) {
		t.Fatalf("another certificate: err %v, want errCertChanged", err)
	}
}
