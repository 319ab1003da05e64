package tlscert

import (
	"bytes"
	"crypto/tls"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var now = func() time.Time { return time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC) }

// split returns the certificate and key blocks of a SelfSigned file.
func split(t *testing.T, b []byte) (cert, key []byte) {
	t.Helper()
	c, rest := pem.Decode(b)
	k, _ := pem.Decode(rest)
	if c == nil || k == nil {
		t.Fatalf("not two PEM blocks: %q", b)
	}
	return pem.EncodeToMemory(c), pem.EncodeToMemory(k)
}

func TestOpenMakesAndKeeps(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, now)
	if err != nil {
		t.Fatal(err)
	}
	info := s.Info()
	if len(info.SHA256) != 64 || !info.SelfSigned {
		t.Fatalf("info %+v", info)
	}
	fi, err := os.Stat(filepath.Join(dir, FileName))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi.Mode(), err)
	}
	c, _ := s.GetCertificate(nil)
	if c.Leaf.PublicKeyAlgorithm.String() != "ECDSA" {
		t.Errorf("key algorithm %s", c.Leaf.PublicKeyAlgorithm)
	}
	again, err := Open(dir, now)
	if err != nil {
		t.Fatal(err)
	}
	if again.Fingerprint() != info.SHA256 {
		t.Errorf("reopened: fingerprint %s, was %s (a restart must keep the certificate)", again.Fingerprint(), info.SHA256)
	}
}

func TestOpenRefusesDamagedFile(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, FileName), []byte("-----BEGIN CERTIFICATE-----\nnope\n"), 0o600)
	if _, err := Open(dir, now); err == nil {
		t.Fatal("a damaged certificate file was accepted (or silently replaced)")
	}
}

func TestReplace(t *testing.T) {
	s, err := Open(t.TempDir(), now)
	if err != nil {
		t.Fatal(err)
	}
	old := s.Fingerprint()
	b, err := SelfSigned(now())
	if err != nil {
		t.Fatal(err)
	}
	cert, key := split(t, b)
	other, _ := SelfSigned(now())
	_, otherKey := split(t, other)

	bad := []struct {
		name      string
		cert, key []byte
	}{
		{"key of another certificate", cert, otherKey},
		{"key in the certificate field", key, key},
		{"no key", cert, nil},
		{"garbage", []byte("hello"), []byte("world")},
		{"huge", bytes.Repeat(cert, 100), key},
	}
	for _, c := range bad {
		if _, err := s.Replace(c.cert, c.key); !errors.Is(err, ErrBadPair) {
			t.Errorf("%s: err %v, want ErrBadPair", c.name, err)
		}
		if s.Fingerprint() != old {
			t.Fatalf("%s: a refused pair replaced the certificate", c.name)
		}
	}
	info, err := s.Replace(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	if info.SHA256 == old || s.Fingerprint() != info.SHA256 {
		t.Fatalf("after replace: %s (old %s, info %s)", s.Fingerprint(), old, info.SHA256)
	}
	reopened, err := Open(filepath.Dir(s.path), now)
	if err != nil || reopened.Fingerprint() != info.SHA256 {
		t.Fatalf("replacement not kept on disk: %v", err)
	}
	expired, _ := SelfSigned(now().AddDate(-30, 0, 0))
	ec, ek := split(t, expired)
	if _, err := s.Replace(ec, ek); !errors.Is(err, ErrBadPair) {
		t.Errorf("expired certificate: err %v", err)
	}
}

// TestServes checks the certificate over a real TLS handshake, the way a
// client that pins the fingerprint sees it.
func TestServes(t *testing.T) {
	s, err := Open(t.TempDir(), now)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", s.TLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := Fingerprint(c.ConnectionState().PeerCertificates[0].Raw); got != s.Fingerprint() {
		t.Errorf("served %s, store says %s", got, s.Fingerprint())
	}
}
