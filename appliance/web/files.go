package web

import (
	"bytes"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strconv"

	"github.com/pnpbox/pnpbox/appliance/provision"
	"github.com/valyala/fasthttp"
)

// fileRequest is what answering a provisioning file needs from an HTTP
// request, whichever server read it (net/http here, fasthttp in plain.go).
type fileRequest struct {
	Remote                 netip.Addr
	Local                  netip.AddrPort // the box's end, for the URL in the config
	Token, File            string
	UserAgent, IfNoneMatch string
}

// fileAnswer is the answer to a fileRequest: Code with, for 200 and 304,
// File; for an error, Message as a plain-text body (http.Error's form).
type fileAnswer struct {
	Code       int
	File       provision.File
	Message    string
	RetryAfter string // seconds, for 429
}

// provisioningFile serves /p/<token>/<file>: the only unauthenticated
// route that returns anything about a phone. Without a valid token and a
// file name that phone fetches, the answer is the same plain 404 whatever
// was wrong, so nothing tells which tokens or MACs exist; an address that
// collects too many 404s is refused for a while without lookups.
func (s *server) provisioningFile(w http.ResponseWriter, r *http.Request) {
	var local netip.AddrPort
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		local = addrPortOf(a)
	}
	a := s.answerFile(fileRequest{Remote: clientAddr(r), Local: local, Token: r.PathValue("token"), File: r.PathValue("file"),
		UserAgent: r.UserAgent(), IfNoneMatch: r.Header.Get("If-None-Match")})
	switch a.Code {
	case http.StatusOK, http.StatusNotModified:
		w.Header().Set("ETag", a.File.ETag)
		w.Header().Set("Cache-Control", "no-store")
		if a.Code == http.StatusNotModified {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", a.File.ContentType)
		w.Header().Set("Content-Length", strconv.Itoa(len(a.File.Body))) // one write, not chunks
		w.Write(a.File.Body)
	default:
		if a.RetryAfter != "" {
			w.Header().Set("Retry-After", a.RetryAfter)
		}
		http.Error(w, a.Message, a.Code)
	}
}

// answerFile decides the answer to a provisioning file request and records
// the download (provision.Download) or the miss.
func (s *server) answerFile(r fileRequest) fileAnswer {
	ip := r.Remote
	now := s.Now()
	if s.files.exhausted(ip, now) {
		return fileAnswer{Code: http.StatusTooManyRequests, Message: "too many requests", RetryAfter: "60"}
	}
	f, err := s.Coord.Download(provision.DownloadRequest{
		Token:     r.Token,
		File:      r.File,
		Remote:    ip,
		UserAgent: r.UserAgent,
		Local:     r.Local,
		// A 304 is recorded as a download too (provision.Download).
		IfNoneMatch: r.IfNoneMatch,
	})
	if err != nil {
		if !errors.Is(err, provision.ErrNotFound) {
			s.Log.Error("provisioning file", "ip", ip.String(), "err", err)
			return fileAnswer{Code: http.StatusInternalServerError, Message: "internal error"}
		}
		s.files.miss(ip, now)
		return fileAnswer{Code: http.StatusNotFound, Message: "404 page not found"}
	}
	if f.NotModified {
		return fileAnswer{Code: http.StatusNotModified, File: f}
	}
	return fileAnswer{Code: http.StatusOK, File: f}
}

// addrPortOf is a's address (IPv4-mapped IPv6 unmapped) and port; zero
// when a is not an IP address.
func addrPortOf(a net.Addr) netip.AddrPort {
	if t, ok := a.(*net.TCPAddr); ok {
		ap := t.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return netip.AddrPort{}
}

// serveFileFast answers a provisioning file request read by fasthttp
// (PlainServer) when its path is the plain form the mux would route to
// provisioningFile unchanged — GET or HEAD of /p/<token>/<file> or
// /p/<token>/, segments without escapes, dot segments or further slashes,
// no body — with the same status, headers and body. It reports false,
// having written nothing, for anything else.
func (s *server) serveFileFast(ctx *fasthttp.RequestCtx) bool {
	if !ctx.IsGet() && !ctx.IsHead() {
		return false
	}
	if n := ctx.Request.Header.ContentLength(); n > 0 || n == -1 { // a body, with a length or chunked
		return false
	}
	token, file, ok := plainFilePath(ctx.Request.Header.RequestURI())
	if !ok {
		return false
	}
	var remote netip.Addr
	if ap := addrPortOf(ctx.RemoteAddr()); ap.IsValid() {
		remote = ap.Addr()
	}
	a := s.answerFile(fileRequest{Remote: remote, Local: addrPortOf(ctx.LocalAddr()), Token: string(token), File: string(file),
		UserAgent: string(ctx.UserAgent()), IfNoneMatch: string(ctx.Request.Header.Peek("If-None-Match"))})
	h := &ctx.Response.Header
	setSecurityHeaders(h)
	switch a.Code {
	case http.StatusOK, http.StatusNotModified:
		h.Set("Etag", a.File.ETag)
		h.Set("Cache-Control", "no-store")
		ctx.SetStatusCode(a.Code)
		if a.Code == http.StatusOK {
			h.Set("Content-Type", a.File.ContentType)
			ctx.Response.SetBodyRaw(a.File.Body) // the cached rendering, never changed in place: not copied
		}
	default:
		if a.RetryAfter != "" {
			h.Set("Retry-After", a.RetryAfter)
		}
		h.Set("Content-Type", "text/plain; charset=utf-8")
		ctx.SetStatusCode(a.Code)
		ctx.SetBodyString(a.Message + "\n")
	}
	return true
}

// plainFilePath splits a request target /p/<token>/<file>[?query] (file
// may be empty) into its segments, if both are made of RFC 3986
// unreserved characters only and neither is a dot segment: what the mux
// would route unchanged, with nothing to unescape or clean.
func plainFilePath(uri []byte) (token, file []byte, ok bool) {
	rest, ok := bytes.CutPrefix(uriPath(uri), []byte("/p/"))
	if !ok {
		return nil, nil, false
	}
	token, file, ok = bytes.Cut(rest, []byte("/"))
	if !ok || len(token) == 0 || !plainSegment(token) || !plainSegment(file) {
		return nil, nil, false
	}
	return token, file, true
}

func plainSegment(b []byte) bool {
	if string(b) == "." || string(b) == ".." {
		return false
	}
	for _, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}
