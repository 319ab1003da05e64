package web

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
)

// maxBackup bounds a restore: a database of a box with MaxRows phones fits
// in far less than 256 MiB.
const maxBackup = 256 << 20

// backup is GET /api/backup: the whole database, consistent. It is
// copied to a temporary file first and sent from there, so a slow client
// never holds a database transaction open, and a failure is a clean error
// status rather than a cut-off download.
func (s *server) backup(w http.ResponseWriter, r *http.Request) {
	f, err := os.CreateTemp(s.TempDir, "pnpbox-backup-*.db")
	if err != nil {
		s.fail(w, fmt.Errorf("backup: %w", err))
		return
	}
	defer os.Remove(f.Name())
	defer f.Close()
	n, err := s.Coord.Backup(f)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	s.Log.Info("backup downloaded", "ip", clientAddr(r).String(), "bytes", n)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="pnpbox-%s.db"`, s.Now().UTC().Format("20060102-150405")))
	w.Header().Set("Content-Length", fmt.Sprint(n))
	w.Header().Set("Cache-Control", "no-store")
	io.Copy(w, f)
}

// restore is POST /api/restore: a file from GET /api/backup replaces the
// whole state, once it has passed every check.
func (s *server) restore(w http.ResponseWriter, r *http.Request) {
	res, err := s.Coord.Restore(http.MaxBytesReader(w, r.Body, maxBackup))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("restore: a backup is at most %d MiB", maxBackup>>20))
	case err != nil:
		s.fail(w, err)
	default:
		writeJSON(w, http.StatusOK, res)
	}
}
