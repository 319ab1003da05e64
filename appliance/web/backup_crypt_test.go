package web

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/pnpbox/pnpbox/appliance"
)

// TestBackupEncryption: a plain backup says it is not encrypted and holds
// the SIP password in clear (so the check below can fail); an encrypted
// one does not, restores with its passphrase, and is refused without it
// or with a wrong one, changing nothing.
func TestBackupEncryption(t *testing.T) {
	b := newTestBox(t)
	const secret = "pw-201-backup-secret"
	if code := b.admin.Call(t, "PUT", "/api/phones/000B82112233/assignment", `{"extension":"201","password":"`+secret+`"}`, nil); code != 200 {
		t.Fatal(code)
	}
	plain := b.admin.Fetch(t, "GET", "/api/backup", "", nil)
	if plain.Code != 200 || plain.Header.Get("X-Backup-Encrypted") != "false" || !bytes.Contains(plain.Body, []byte(secret)) {
		t.Fatalf("plain backup: %d, X-Backup-Encrypted %q, secret in clear %v", plain.Code, plain.Header.Get("X-Backup-Encrypted"), bytes.Contains(plain.Body, []byte(secret)))
	}
	get := func(pass string) (int, http.Header, []byte) {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", b.srv.URL+"/api/backup", nil)
		req.SetBasicAuth("admin", adminPassword)
		req.Header.Set("X-Backup-Passphrase", pass)
		res, err := b.admin.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header, body
	}
	if code, _, _ := get("short"); code != 400 {
		t.Errorf("short passphrase: %d, want 400", code)
	}
	const pass = "correct horse battery staple"
	code, hdr, body := get(pass)
	enc := struct {
		Code   int
		Header http.Header
		Body   []byte
	}{code, hdr, body}
	if enc.Code != 200 || enc.Header.Get("X-Backup-Encrypted") != "true" || !bytes.HasPrefix(enc.Body, []byte("age-encryption.org/v1\n")) {
		t.Fatalf("encrypted backup: %d %q %.40q", enc.Code, enc.Header.Get("X-Backup-Encrypted"), enc.Body)
	}
	for _, leak := range []string{secret, "201"} {
		if bytes.Contains(enc.Body, []byte(leak)) {
			t.Errorf("the encrypted backup holds %q in clear", leak)
		}
	}
	if code := b.admin.Call(t, "DELETE", "/api/phones/000B82112233/assignment", "", nil); code != 204 {
		t.Fatal(code)
	}
	restore := func(passphrase string, body []byte) int {
		req, err := http.NewRequestWithContext(t.Context(), "POST", b.srv.URL+"/api/restore", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth("admin", adminPassword)
		req.Header.Set("Content-Type", "application/octet-stream")
		if passphrase != "" {
			req.Header.Set("X-Backup-Passphrase", passphrase)
		}
		res, err := b.admin.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	tampered := bytes.Clone(enc.Body)
	tampered[len(tampered)-10] ^= 1
	for name, c := range map[string]struct {
		pass string
		body []byte
	}{"no passphrase": {"", enc.Body}, "wrong passphrase": {"wrong horse battery staple", enc.Body}, "tampered": {pass, tampered}} {
		if code := restore(c.pass, c.body); code != 400 {
			t.Errorf("%s: %d, want 400", name, code)
		}
		if assigned(t, b) != nil {
			t.Fatalf("%s: a refused restore changed the state", name)
		}
	}
	if code := restore(pass, enc.Body); code != 200 {
		t.Fatalf("restore with the passphrase: %d", code)
	}
	if a := assigned(t, b); a == nil || a.Password != secret {
		t.Fatalf("after restore: %+v", a)
	}
}

// assigned is phone 000B82112233's assignment, nil without one.
func assigned(t *testing.T, b *testBox) *appliance.Assignment {
	t.Helper()
	m, _ := appliance.ParseMAC("000B82112233")
	e, err := b.coord.Phone(m)
	if err != nil {
		return nil
	}
	return e.Assignment
}
