package provision

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"filippo.io/age"
)

// FuzzOpenBackup: any upload, encrypted-looking or not, is opened without
// a panic; every failure to decrypt or read is ErrBadBackup (a 400, never
// a 500) or ErrPassphrase.
func FuzzOpenBackup(f *testing.F) {
	var enc bytes.Buffer
	r, _ := age.NewScryptRecipient("correct horse battery")
	r.SetWorkFactor(10)
	w, _ := age.Encrypt(&enc, r)
	w.Write([]byte("a database"))
	w.Close()
	f.Add(enc.Bytes(), "correct horse battery")
	f.Add(enc.Bytes(), "")
	f.Add([]byte(ageHeader+"-> scrypt AAAA 40\n"), "x")
	f.Add([]byte("plain"), "")
	f.Fuzz(func(t *testing.T, data []byte, pass string) {
		out, _, err := OpenBackup(bytes.NewReader(data), pass)
		if err == nil {
			_, err = io.ReadAll(out)
		}
		if err != nil && !errors.Is(err, ErrBadBackup) && !errors.Is(err, ErrPassphrase) {
			t.Fatalf("error %v is neither ErrBadBackup nor ErrPassphrase", err)
		}
	})
}
