package web

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/pnpbox/pnpbox/appliance/provision"
)

// maxBackup bounds a restore: a database of a box with MaxRows phones fits
// in far less than 256 MiB.
const maxBackup = 256 << 20

// passphraseHeader carries a backup's passphrase, to encrypt (GET
// /api/backup) or decrypt (POST /api/restore): a header, not the URL, so
// no access log or browser history keeps it.
const passphraseHeader = "X-Backup-Passphrase"

// encryptedHeader says on every backup download whether the file is
// encrypted: "false" means it holds SIP passwords and tokens in clear.
const encryptedHeader = "X-Backup-Encrypted"

// backup is GET /api/backup: the whole database, consistent. With a
// passphrase in X-Backup-Passphrase it is encrypted with age to it
// (X-Backup-Encrypted: true); without, it is NOT encrypted
// (X-Backup-Encrypted: false) and holds every secret in clear. It is
// copied to a temporary file first and sent from there, so a slow client
// never holds a database transaction open, and a failure is a clean error
// status rather than a cut-off download.
func (s *server) backup(w http.ResponseWriter, r *http.Request) {
	pass := r.Header.Get(passphraseHeader)
	if pass != "" && len(pass) < provision.MinBackupPassphrase {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%s: at least %d characters", passphraseHeader, provision.MinBackupPassphrase))
		return
	}
	s.sendBackup(w, r, pass)
}

func (s *server) sendBackup(w http.ResponseWriter, r *http.Request, passphrase string) {
	f, err := os.CreateTemp(s.TempDir, "pnpbox-backup-*.db")
	if err != nil {
		s.fail(w, fmt.Errorf("backup: %w", err))
		return
	}
	defer os.Remove(f.Name())
	defer f.Close()
	var n int64
	if passphrase != "" {
		n, err = s.Coord.BackupEncrypted(f, passphrase)
	} else {
		n, err = s.Coord.Backup(f)
	}
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	name := fmt.Sprintf("pnpbox-%s.db", s.Now().UTC().Format("20060102-150405"))
	if passphrase != "" {
		name += ".age"
		s.Log.Info("backup downloaded", "ip", clientAddr(r).String(), "bytes", n, "encrypted", true)
		w.Header().Set(encryptedHeader, "true")
	} else {
		s.Log.Warn("backup downloaded NOT encrypted: it holds every SIP password and token in clear", "ip", clientAddr(r).String(), "bytes", n)
		w.Header().Set(encryptedHeader, "false")
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, name))
	w.Header().Set("Content-Length", fmt.Sprint(n))
	w.Header().Set("Cache-Control", "no-store")
	io.Copy(w, f)
}

// restore is POST /api/restore: a file from GET /api/backup
// replaces the whole state, once it has passed every check. An encrypted
// one needs its passphrase in X-Backup-Passphrase.
func (s *server) restore(w http.ResponseWriter, r *http.Request) {
	body, _, err := provision.OpenBackup(http.MaxBytesReader(w, r.Body, maxBackup), r.Header.Get(passphraseHeader))
	var res provision.RestoreResult
	if err == nil {
		res, err = s.Coord.Restore(body)
	}
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("restore: a backup is at most %d MiB", maxBackup>>20))
	case errors.Is(err, provision.ErrPassphrase):
		writeError(w, http.StatusBadRequest, "restore: "+err.Error()+" in the "+passphraseHeader+" header")
	case err != nil:
		s.fail(w, err)
	default:
		writeJSON(w, http.StatusOK, res)
	}
}
