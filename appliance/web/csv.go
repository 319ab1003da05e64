package web

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/pnpbox/pnpbox/appliance/provision"
)

// maxCSV bounds an assignment import: a CSV of MaxRows phones with long
// keys fits in 16 MiB.
const maxCSV = 16 << 20

// queryFlag reports whether query parameter name is set to a true value
// (1, true, yes, on).
func queryFlag(r *http.Request, name string) bool {
	switch strings.ToLower(r.URL.Query().Get(name)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// csvTypes are the Content-Types a CSV upload may carry: browsers on
// Windows label .csv files application/vnd.ms-excel.
var csvTypes = map[string]bool{"text/csv": true, "application/csv": true, "text/plain": true, "application/vnd.ms-excel": true}

// importAssignments is POST /api/assignments/import: a CSV file, all or
// nothing; ?dry_run=1 only says what would change.
func (s *server) importAssignments(w http.ResponseWriter, r *http.Request) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if !csvTypes[ct] {
		writeError(w, http.StatusUnsupportedMediaType, fmt.Sprintf("send the file as text/csv, not %q", ct))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCSV))
	if err != nil {
		s.bodyError(w, "import", err)
		return
	}
	res, err := s.Coord.ImportCSV(bytes.NewReader(body), queryFlag(r, "dry_run"))
	var ie *provision.ImportError
	switch {
	case errors.As(err, &ie):
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": ie.Error(), "rows": ie.Rows})
	case err != nil:
		s.fail(w, err)
	default:
		writeJSON(w, http.StatusOK, res)
	}
}

// exportAssignments is GET /api/assignments/export: every assignment as
// CSV, passwords only with ?include_passwords=1, phones without an
// assignment too with ?include_unassigned=1.
func (s *server) exportAssignments(w http.ResponseWriter, r *http.Request) {
	opt := provision.ExportOptions{Passwords: queryFlag(r, "include_passwords"), Unassigned: queryFlag(r, "include_unassigned")}
	var buf bytes.Buffer
	if err := s.Coord.ExportCSV(&buf, opt); err != nil {
		s.fail(w, err)
		return
	}
	if opt.Passwords {
		s.Log.Info("assignments exported with their passwords", "ip", clientAddr(r).String())
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="pnpbox-assignments.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}

func (s *server) bodyError(w http.ResponseWriter, what string, err error) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("%s: the body is larger than %d MiB", what, mbe.Limit>>20))
		return
	}
	writeError(w, http.StatusBadRequest, what+": "+err.Error())
}
