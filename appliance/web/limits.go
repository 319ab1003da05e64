package web

import (
	"fmt"
	"net/http"
	"strings"
)

// bodyLimit is the largest request body path accepts: a backup for
// restore, a CSV for import, maxBody for everything else.
func bodyLimit(path string) int64 {
	switch {
	case path == "/api/restore":
		return maxBackup
	case strings.HasPrefix(path, "/api/assignments/import"):
		return maxCSV
	}
	return maxBody
}

// limitBodies answers 413 before any handler runs when a request declares
// a body (Content-Length) larger than its route takes, so a client learns
// the real reason and no handler reads a byte of it. Bodies without a
// length (chunked) are still cut off by each handler's MaxBytesReader.
func limitBodies(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n := bodyLimit(r.URL.Path); r.ContentLength > n {
			w.Header().Set("Connection", "close")
			writeError(w, http.StatusRequestEntityTooLarge, tooLarge(r.ContentLength, n))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// tooLarge is the 413's message for a body of declared bytes (≤ 0: not
// declared) against limit.
func tooLarge(declared, limit int64) string {
	if declared <= 0 {
		return fmt.Sprintf("request body over %d bytes; at most %d are accepted here", limit, limit)
	}
	return fmt.Sprintf("request body of %d bytes; at most %d are accepted here", declared, limit)
}
