package web

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// realServer serves b's handler from NewServer (the timeouts and limits
// pnpd uses) on loopback and returns its address.
func realServer(t *testing.T, b *testBox) string {
	t.Helper()
	srv := NewServer(b.srv.Config.Handler)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// servers are the box's two HTTP servers for b: net/http alone (the HTTPS
// port's) and the plain-HTTP port's (PlainServer).
func servers(t *testing.T, b *testBox) map[string]string {
	return map[string]string{"net/http": realServer(t, b), "plain port": plainServer(t, b)}
}

// TestSlowLoris (robustness.md H3): 200 connections that send a header a
// byte at a time are all closed by ReadHeaderTimeout, and the page answers
// normally while they hang; on the plain port, half of them look like a
// phone's (GET /p/…) and meet fasthttp's ReadTimeout instead.
func TestSlowLoris(t *testing.T) {
	b := newTestBox(t)
	for name, addr := range servers(t, b) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			slowLoris(t, addr)
		})
	}
}

func slowLoris(t *testing.T, addr string) {
	const n = 200
	closed := make(chan time.Duration, n)
	start := time.Now()
	for i := range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		first := "GET / HTTP/1.1\r\nHost: box\r\nX-a: "
		if i%2 == 1 {
			first = "GET /p/x/cfg.xml HTTP/1.1\r\nHost: box\r\nX-a: "
		}
		go func() {
			c.Write([]byte(first))
			buf := make([]byte, 512)
			for {
				c.SetReadDeadline(time.Now().Add(time.Second))
				_, err := c.Read(buf)
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					if _, err := c.Write([]byte("a")); err != nil { // one more byte per second
						closed <- time.Since(start)
						return
					}
					continue
				}
				closed <- time.Since(start) // EOF or the 408 the server sends before closing
				return
			}
		}()
	}
	// While they hang, a real client is served at once.
	t0 := time.Now()
	res, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if d := time.Since(t0); res.StatusCode != 200 || d > 2*time.Second {
		t.Errorf("/healthz during the attack: %d in %v", res.StatusCode, d)
	}
	var worst time.Duration
	deadline := time.After(30 * time.Second)
	for range n {
		select {
		case d := <-closed:
			worst = max(worst, d)
		case <-deadline:
			t.Fatal("slow connections still open after 30 s (ReadHeaderTimeout is 5 s)")
		}
	}
	if worst > 10*time.Second {
		t.Errorf("the last slow connection closed after %v, want ≤ ReadHeaderTimeout (5 s) plus slack", worst)
	}
	t.Logf("%d slow-loris connections all closed by %v", n, worst.Round(100*time.Millisecond))
}

// rawRequest sends req over a fresh connection and returns the status code.
func rawRequest(t *testing.T, addr string, req []byte) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	go c.Write(req) // the server may answer and close before reading it all
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	io.Copy(io.Discard, res.Body)
	return res.StatusCode
}

// TestHeaderBombs (H4): a 1 MiB header and 10,000 headers get 431.
func TestHeaderBombs(t *testing.T) {
	b := newTestBox(t)
	for srv, addr := range servers(t, b) {
		for _, path := range []string{"/api/status", "/p/x/cfg.xml"} {
			one := "GET " + path + " HTTP/1.1\r\nHost: box\r\nX-Bomb: " + strings.Repeat("a", 1<<20) + "\r\n\r\n"
			var many strings.Builder
			many.WriteString("GET " + path + " HTTP/1.1\r\nHost: box\r\n")
			for i := range 10000 {
				fmt.Fprintf(&many, "X-%d: a\r\n", i)
			}
			many.WriteString("\r\n")
			for name, req := range map[string]string{"1 MiB header": one, "10,000 headers": many.String()} {
				if code := rawRequest(t, addr, []byte(req)); code != http.StatusRequestHeaderFieldsTooLarge {
					t.Errorf("%s, %s on %s: %d, want 431", srv, name, path, code)
				}
			}
		}
	}
}

// TestOversizedBodies: bodies over the limits are refused with 413 and
// change nothing.
func TestOversizedBodies(t *testing.T) {
	b := newTestBox(t)
	big := `{"sip_server":"` + strings.Repeat("a", maxBody+1) + `"}`
	for _, c := range []struct{ method, path, ctype, body string }{
		{"PUT", "/api/settings", "application/json", big},
		{"PATCH", "/api/settings", "application/merge-patch+json", big},
		{"PUT", "/api/phones/000B82112233/assignment", "application/json", `{"extension":"201","password":"` + strings.Repeat("p", maxBody) + `"}`},
		{"POST", "/api/assignments/import", "text/csv", "mac,extension,password\n" + strings.Repeat("000B82000001,201,pw-secret-12\n", maxCSV/28+1)},
	} {
		res := b.admin.Fetch(t, c.method, c.path, c.ctype, strings.NewReader(c.body))
		if res.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("%s %s with %d bytes: %d, want 413: %.200s", c.method, c.path, len(c.body), res.Code, res.Body)
		}
	}
	if s := b.coord.Settings(); s.SIPServer != "" {
		t.Error("an oversized settings body changed the settings")
	}
}

// TestPathTraversal: encoded path tricks on /p/ never serve a config
// without the phone's token, and never anything else from the box.
func TestPathTraversal(t *testing.T) {
	b := newTestBox(t)
	b.announce("000B82112233", "198.18.0.10")
	if code := b.admin.Call(t, "PUT", "/api/phones/000B82112233/assignment", `{"extension":"201","password":"pw-201-secret"}`, nil); code != 200 {
		t.Fatal(code)
	}
	own := b.configPath("000B82112233") // /p/<token>/cfg000B82112233
	token := strings.Split(own, "/")[2]
	for srv, addr := range servers(t, b) {
		pathTraversal(t, srv, addr, own, token)
	}
}

func pathTraversal(t *testing.T, srv, addr, own, token string) {
	for _, p := range []string{
		"/p/..%2f..%2fapi%2fstatus", "/p/%2e%2e/%2e%2e/api/status", "/p/%252e%252e/x/cfg.xml",
		"/p/....//....//etc/passwd", "/p/x/..%5c..%5cetc%5cpasswd", "/p/x%00/cfg.xml", "/p/%ef%bc%8e%ef%bc%8e/x",
		"/p/" + token + "%2f..%2f..%2fphones.db", "/p/" + token + "/..%2f..%2fphones.db", "/p/" + token + "/../../phones.db",
		"/p/" + strings.ToUpper(token) + "/cfg.xml", "/p/" + token + "x/cfg.xml", "/p/" + token[:31] + "/cfg.xml",
		"/p//cfg000B82112233.xml", "/cfg000B82112233.xml", "/p/" + token + "/cfg000B82112234.xml",
		"/p/" + token + "/cfg000B82112233.xml%00.txt", "/p/" + token + "/.%2e/.%2e/api/backup",
	} {
		code := rawRequest(t, addr, []byte("GET "+p+" HTTP/1.1\r\nHost: box\r\nConnection: close\r\n\r\n"))
		if code == 200 || code >= 500 {
			t.Errorf("%s: %s: %d, want a 3xx/4xx", srv, p, code)
		}
	}
	// The check can fail: the real path is served.
	if code := rawRequest(t, addr, []byte("GET "+own+" HTTP/1.1\r\nHost: box\r\nConnection: close\r\n\r\n")); code != 200 {
		t.Fatalf("%s: the phone's own path: %d", srv, code)
	}
}

// TestLoginFlood (H5): 10,000 wrong passwords from one address: at most 5
// are even checked before that address waits; none succeeds; the right
// password from that address is refused while it waits; the admin from
// another address logs in at once.
func TestLoginFlood(t *testing.T) {
	b := newTestBox(t)
	h := b.srv.Config.Handler
	try := func(ip, pw string) int {
		r := httptest.NewRequest("GET", "/api/status", nil)
		r.RemoteAddr = ip + ":40000"
		r.SetBasicAuth("admin", pw)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	codes := map[int]int{}
	for i := range 10000 {
		codes[try("198.18.0.66", fmt.Sprintf("guess-%d", i))]++
	}
	if codes[200] != 0 || codes[401] > 5 || codes[429] < 9995 {
		t.Errorf("10,000 wrong passwords: answers %v, want ≤ 5 × 401 and the rest 429", codes)
	}
	if code := try("198.18.0.66", adminPassword); code != 429 {
		t.Errorf("right password from the flooding address while it waits: %d, want 429", code)
	}
	if code := try("198.18.0.7", adminPassword); code != 200 {
		t.Errorf("the admin from another address: %d, want 200", code)
	}
	t.Logf("10,000 login attempts from one address: %v", codes)
}

// TestTokenGuessing (secrets): 100,000 requests for random tokens and MAC
// file names, from one address and from 1,000, disclose nothing, and each
// address is refused (429) after its 20 misses a minute.
func TestTokenGuessing(t *testing.T) {
	b := newTestBox(t)
	b.announce("000B82112233", "198.18.0.10")
	if code := b.admin.Call(t, "PUT", "/api/phones/000B82112233/assignment", `{"extension":"201","password":"pw-201-secret"}`, nil); code != 200 {
		t.Fatal(code)
	}
	h := b.srv.Config.Handler
	ouis := []string{"000B82", "C074AD", "EC74D7", "144CFF"}
	get := func(ip string, i int) (int, []byte) {
		tok := make([]byte, 16)
		rand.Read(tok)
		mac := make([]byte, 3)
		rand.Read(mac)
		m := ouis[i%4] + strings.ToUpper(hex.EncodeToString(mac))
		path := "/p/" + hex.EncodeToString(tok) + "/cfg" + m + ".xml"
		if i%2 == 1 {
			path = "/p/" + hex.EncodeToString(tok) + "/cfg" + m
		}
		r := httptest.NewRequest("GET", path, nil)
		r.RemoteAddr = ip + ":40000"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code, w.Body.Bytes()
	}
	single := map[int]int{}
	for i := range 50000 {
		code, body := get("198.18.1.1", i)
		single[code]++
		if code == 200 || bytes.Contains(body, []byte("pw-201-secret")) {
			t.Fatalf("request %d disclosed a config", i)
		}
	}
	if single[404] != 20 || single[429] != 50000-20 {
		t.Errorf("50,000 guesses from one address: %v, want 20 × 404 then 429", single)
	}
	multi := map[int]int{}
	for i := range 50000 {
		code, body := get(fmt.Sprintf("198.18.%d.%d", 2+i%1000/250, i%250+1), i)
		multi[code]++
		if code == 200 || bytes.Contains(body, []byte("pw-201-secret")) {
			t.Fatalf("request %d disclosed a config", i)
		}
	}
	if multi[404] != 1000*20 || multi[429] != 50000-20000 {
		t.Errorf("50,000 guesses from 1,000 addresses: %v, want 20,000 × 404 then 429", multi)
	}
	t.Logf("100,000 guesses: one address %v; 1,000 addresses %v; 0 disclosed", single, multi)
}
