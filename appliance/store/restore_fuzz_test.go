package store

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"
)

// FuzzStage: an uploaded backup of any bytes is staged and checked without
// a panic, and anything refused is ErrBadBackup; a valid backup with
// mutated bytes is either refused or a database that opens.
func FuzzStage(f *testing.F) {
	dir := f.TempDir()
	s, err := Open(filepath.Join(dir, "phones.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	var good bytes.Buffer
	if _, err := s.WriteTo(&good); err != nil {
		f.Fatal(err)
	}
	f.Add(good.Bytes())
	f.Add([]byte{})
	f.Add([]byte("age-encryption.org/v1\n"))
	f.Add(good.Bytes()[:4096])
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := s.Stage(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrBadBackup) {
				t.Fatalf("refused with %v, not ErrBadBackup", err)
			}
			return
		}
		st.Discard()
	})
}
