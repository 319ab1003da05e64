package web

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// plainServer serves b's handler as pnpd's -http port does (PlainServer)
// on loopback and returns its address.
func plainServer(t *testing.T, b *testBox) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(servePlain(t, b, ln))
	return ln.Addr().String()
}

// servePlain serves b's handler on ln with a PlainServer until the
// returned function stops it.
func servePlain(t *testing.T, b *testBox, ln net.Listener) func() {
	stop, _ := servePlainCounted(t, b, ln)
	return stop
}

// servePlainCounted is servePlain that also counts the requests the
// phones' server (fasthttp) was handed.
func servePlainCounted(t *testing.T, b *testBox, ln net.Listener) (func(), *atomic.Int64) {
	h := b.srv.Config.Handler.(*Handler)
	srv := NewPlainServer(h, h)
	var fast atomic.Int64
	handle := srv.phones.Handler
	srv.phones.Handler = func(ctx *fasthttp.RequestCtx) {
		fast.Add(1)
		handle(ctx)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v, want http.ErrServerClosed", err)
		}
	}, &fast
}

// serveStd serves b's handler on ln from NewServer (net/http alone, as on
// the HTTPS port) until the returned function stops it.
func serveStd(t *testing.T, b *testBox, ln net.Listener) func() {
	srv := NewServer(b.srv.Config.Handler)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	return func() {
		srv.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v, want http.ErrServerClosed", err)
		}
	}
}

// assignedPhone is phone 000B82112233 seen at 198.18.0.10 and assigned
// extension 201: its config path and token.
func (b *testBox) assignedPhone() (path, token string) {
	b.t.Helper()
	b.announce("000B82112233", "198.18.0.10")
	if code := b.admin.Call(b.t, "PUT", "/api/phones/000B82112233/assignment", `{"extension":"201","password":"pw-201-secret"}`, nil); code != 200 {
		b.t.Fatalf("assign: %d", code)
	}
	path = b.configPath("000B82112233")
	return path, strings.Split(path, "/")[2]
}

// exchange sends the raw requests over one connection and reads as many
// answers (HEAD's without a body).
func exchange(t *testing.T, addr string, reqs ...string) []*http.Response {
	t.Helper()
	return exchangeFrom(t, "", addr, reqs...)
}

// exchangeFrom is exchange from the local address from ("": any).
func exchangeFrom(t *testing.T, from, addr string, reqs ...string) []*http.Response {
	t.Helper()
	var d net.Dialer
	if from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(c)
	var out []*http.Response
	for _, r := range reqs {
		if _, err := io.WriteString(c, r); err != nil {
			t.Fatal(err)
		}
		res, err := http.ReadResponse(br, &http.Request{Method: strings.Fields(r)[0]})
		if err != nil {
			t.Fatalf("%q: no answer: %v", r, err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body = io.NopCloser(strings.NewReader(string(body)))
		out = append(out, res)
	}
	return out
}

// describe is an answer without its Date, for comparing two servers'.
func describe(res *http.Response) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", res.Status)
	keys := make([]string, 0, len(res.Header))
	for k := range res.Header {
		if k != "Date" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(res.Header[k], ", "))
	}
	body, _ := io.ReadAll(res.Body)
	fmt.Fprintf(&b, "\n%s", body)
	return b.String()
}

// TestPlainServerSameAnswers: on the plain-HTTP port a phone's connection
// is served by fasthttp; every answer — the config, HEAD, 304, the folder
// form, every kind of 404, the routes that are not files, a request on
// a phone's connection for the page — is the one net/http gives, header
// for header (Date aside), and each config fetched is recorded once.
func TestPlainServerSameAnswers(t *testing.T) {
	b := newTestBox(t)
	own, token := b.assignedPhone()
	folder := "/p/" + token + "/"
	// Both servers listen in turn on one address (the config holds it),
	// and are called from addresses of their own (the 404 budget is per
	// address).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	stop := serveStd(t, b, ln)
	etag := exchange(t, addr, "GET "+own+" HTTP/1.1\r\nHost: box\r\n\r\n")[0].Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag on the config")
	}
	get := func(path string, hdr ...string) string {
		return "GET " + path + " HTTP/1.1\r\nHost: box\r\nUser-Agent: Grandstream GXP2140 1.0.11.74\r\n" + strings.Join(hdr, "") + "\r\n"
	}
	cases := [][]string{
		{get(own)},
		{get(own + "?mac=000b82112233")},
		{"HEAD " + own + " HTTP/1.1\r\nHost: box\r\n\r\n"},
		{get(own, "If-None-Match: "+etag+"\r\n")},
		{get(own, "If-None-Match: \"other\"\r\n")},
		{get(folder)},
		{get(folder + "cfg000b82112233.xml")},
		{get(folder + "cfg.xml")},
		{get(own), get(own), get("/healthz")}, // keep-alive, then a page route on a phone's connection
		{get("/p/" + token + "/cfg000B82112234.xml")},
		{get("/p/" + strings.ToUpper(token) + "/cfg.xml")},
		{get("/p/" + token + "%2fcfg.xml")},
		{get("/p/" + token + "/../../api/status")},
		{get("/p/" + token + "/./cfg.xml")},
		{get("/p//cfg.xml")},
		{get("/p/" + token)},
		{get("/p/" + token + "/cfg.xml/x")},
		{"POST " + own + " HTTP/1.1\r\nHost: box\r\nContent-Length: 2\r\n\r\nhi"},
		{"GET " + own + " HTTP/1.1\r\nHost: box\r\nContent-Length: 2\r\n\r\nhi"},
		{get("/p/" + token + "/cfg.xml"), "PUT /api/settings HTTP/1.1\r\nHost: box\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"},
		{get("/healthz")},
		// A body over the route's limit on a phone's connection: refused before it is read.
		{get("/p/" + token + "/cfg.xml"), fmt.Sprintf("PUT /api/settings HTTP/1.1\r\nHost: box\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", maxBody+1)},
	}
	before := downloads(t, b, "000B82112233")
	var std, plain [][]*http.Response
	for _, reqs := range cases {
		std = append(std, exchangeFrom(t, "127.0.0.2", addr, reqs...))
	}
	stop()
	if ln, err = net.Listen("tcp", addr); err != nil {
		t.Fatal(err)
	}
	stop, fast := servePlainCounted(t, b, ln)
	defer stop()
	phoneConns := 0
	for _, reqs := range cases {
		plain = append(plain, exchangeFrom(t, "127.0.0.3", addr, reqs...))
		if strings.HasPrefix(reqs[0], "GET /p/") || strings.HasPrefix(reqs[0], "HEAD /p/") {
			phoneConns++
		}
	}
	// The same answers, and the phones' connections did go to fasthttp.
	if n := fast.Load(); n < int64(phoneConns) {
		t.Errorf("fasthttp was handed %d requests; %d connections began with a phone's", n, phoneConns)
	}
	served := 0
	for c, reqs := range cases {
		for i := range reqs {
			a, p := std[c][i], plain[c][i]
			if a.StatusCode == 200 && strings.HasPrefix(reqs[i], "GET /p/") {
				served += 2
			}
			if da, dp := describe(a), describe(p); da != dp {
				t.Errorf("%q\nnet/http:\n%s\nplain port:\n%s", reqs[i], da, dp)
			}
		}
	}
	// HEAD and 304 are downloads too (provision.Download).
	if got, want := downloads(t, b, "000B82112233")-before, served+2*2; got != want {
		t.Errorf("%d downloads recorded, want %d", got, want)
	}
}

func downloads(t *testing.T, b *testBox, mac string) int {
	t.Helper()
	var p struct {
		Downloads int `json:"downloads"`
	}
	if code := b.admin.Call(t, "GET", "/api/phones/"+mac, "", &p); code != 200 {
		t.Fatalf("GET phone: %d", code)
	}
	return p.Downloads
}

// TestServeFileFast: the requests a phone makes are answered by fasthttp
// itself, not handed to net/http; everything else is handed on untouched.
func TestServeFileFast(t *testing.T) {
	b := newTestBox(t)
	own, token := b.assignedPhone()
	s := b.srv.Config.Handler.(*Handler).s
	for _, c := range []struct {
		method, uri string
		fast        bool
		code        int
	}{
		{"GET", own, true, 200},
		{"HEAD", own, true, 200},
		{"GET", "/p/" + token + "/", true, 200},
		{"GET", "/p/" + token + "/cfg.xml?x=1", true, 200},
		{"GET", "/p/" + token + "/nope", true, 404},
		{"GET", "/p/nope/cfg.xml", true, 404},
		{"POST", own, false, 0},
		{"GET", "/p/" + token + "/%63fg.xml", false, 0},
		{"GET", "/p/" + token + "/..", false, 0},
		{"GET", "/p/" + token, false, 0},
		{"GET", "/p//cfg.xml", false, 0},
		{"GET", "/healthz", false, 0},
		{"GET", "http://box" + own, false, 0},
	} {
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod(c.method)
		ctx.Request.Header.SetRequestURI(c.uri)
		fast := s.serveFileFast(&ctx)
		if fast != c.fast || fast && ctx.Response.StatusCode() != c.code {
			t.Errorf("%s %s: answered here %v with %d, want %v with %d", c.method, c.uri, fast, ctx.Response.StatusCode(), c.fast, c.code)
		}
	}
}

// BenchmarkServeFile is one config download after the request is read:
// by fasthttp's path on the plain port (fast) and by the net/http
// handler chain (std), both through a real coordinator with a cached
// config.
func BenchmarkServeFile(b *testing.B) {
	box := newTestBox(b)
	own, _ := box.assignedPhone()
	h := box.srv.Config.Handler.(*Handler)
	remote := &net.TCPAddr{IP: net.IPv4(198, 18, 0, 10), Port: 40000}
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		var ctx fasthttp.RequestCtx
		ctx.Init(&fasthttp.Request{}, remote, nil)
		for b.Loop() {
			ctx.Request.Header.SetMethod("GET")
			ctx.Request.Header.SetRequestURI(own)
			ctx.Response.Reset()
			if !h.s.serveFileFast(&ctx) || ctx.Response.StatusCode() != 200 {
				b.Fatal("not served")
			}
		}
	})
	b.Run("std", func(b *testing.B) {
		b.ReportAllocs()
		r := httptest.NewRequest("GET", own, nil)
		r.RemoteAddr = remote.String()
		for b.Loop() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != 200 {
				b.Fatal(w.Code)
			}
		}
	})
}
