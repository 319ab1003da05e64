package web

import (
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strconv"

	"github.com/pnpbox/pnpbox/appliance/provision"
)

// provisioningFile serves /p/<token>/<file>: the only unauthenticated
// route that returns anything about a phone. Without a valid token and a
// file name that phone fetches, the answer is the same plain 404 whatever
// was wrong, so nothing tells which tokens or MACs exist; an address that
// collects too many 404s is refused for a while without lookups.
func (s *server) provisioningFile(w http.ResponseWriter, r *http.Request) {
	ip := clientAddr(r)
	now := s.Now()
	if s.files.exhausted(ip, now) {
		w.Header().Set("Retry-After", "60")
		http.Error(w, "too many requests", http.StatusTooManyRequests)
		return
	}
	var local netip.AddrPort
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if ap, err := netip.ParseAddrPort(a.String()); err == nil {
			local = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
		}
	}
	f, err := s.Coord.Download(provision.DownloadRequest{
		Token:     r.PathValue("token"),
		File:      r.PathValue("file"),
		Remote:    ip,
		UserAgent: r.UserAgent(),
		Local:     local,
		// A 304 is recorded as a download too (provision.Download).
		IfNoneMatch: r.Header.Get("If-None-Match"),
	})
	if err != nil {
		if !errors.Is(err, provision.ErrNotFound) {
			s.Log.Error("provisioning file", "ip", ip.String(), "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		s.files.miss(ip, now)
		http.NotFound(w, r)
		return
	}
	w.Header().Set("ETag", f.ETag)
	w.Header().Set("Cache-Control", "no-store")
	if f.NotModified {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", f.ContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(f.Body))) // one write, not chunks
	w.Write(f.Body)
}
