package web

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/appliance/provision"
	"github.com/pnpbox/pnpbox/appliance/provision/provisiontest"
	"github.com/pnpbox/pnpbox/appliance/store"
)

// fuzzToken is the one phone's token in FuzzProvisioningPath.
const fuzzToken = "00112233445566778899aabbccddeeff"

// FuzzProvisioningPath sends arbitrary request targets to the whole
// handler of a box with one provisioned phone (robustness.md H1). Never a
// panic or a 5xx; a config (the SIP password) only for a path under the
// phone's own token; nothing but the API's 401 for /api without login.
func FuzzProvisioningPath(f *testing.F) {
	st, err := store.Open(filepath.Join(f.TempDir(), "phones.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	if err := st.Apply(store.Write{Admin: &store.Credential{Salt: []byte("s"), Iterations: 1, Hash: make([]byte, 32)}}); err != nil {
		f.Fatal(err)
	}
	coord, err := provision.New(provision.Config{Store: st, Notifier: &provisiontest.Notifier{}, HTTPPort: 80,
		NewToken: func() string { return fuzzToken }})
	if err != nil {
		f.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- coord.Run(ctx) }()
	f.Cleanup(func() { cancel(); <-done })
	const secret = "pw-fuzz-201-secret"
	m, err := appliance.ParseMAC("000B82112233")
	if err != nil {
		f.Fatal(err)
	}
	if _, err := coord.Assign(m, appliance.Assignment{Extension: "201", Password: secret, SIPServer: "pbx.example.net", Model: "GXP2140"}); err != nil {
		f.Fatal(err)
	}
	h := New(Deps{Coord: coord, Box: func() Box { return Box{} }, Log: slog.New(slog.DiscardHandler), TempDir: f.TempDir()})

	for _, p := range []string{
		"/p/" + fuzzToken + "/cfg000b82112233.xml", "/p/" + fuzzToken + "/", "/p/" + fuzzToken + "/cfg000B82112233",
		"/cfg000b82112233.xml", "/p/../p/" + fuzzToken + "/cfg.xml", "/p/..%2f" + fuzzToken + "/cfg.xml",
		"/p/%2e%2e/" + fuzzToken + "/cfg.xml", "/p/%252e%252e/x", "/p/....//x", `/p/\..\x`, "/p/x%00/cfg.xml",
		"/p/\uff0e\uff0e/x", "/p/" + strings.ToUpper(fuzzToken) + "/cfg.xml", "/p/" + fuzzToken + "./cfg.xml",
		"/p/" + fuzzToken + "/cfg.xml.", "/p/" + fuzzToken + "/../../api/status", "/api/status", "//p/x",
		"/p/" + strings.Repeat("a", 4096) + "/cfg.xml", "*", "http://evil/p/" + fuzzToken + "/cfg.xml",
	} {
		f.Add(p)
	}
	// The check can fail: the phone's own path does carry the secret.
	own := httptest.NewRecorder()
	h.ServeHTTP(own, httptest.NewRequest("GET", "/p/"+fuzzToken+"/cfg000b82112233.xml", nil))
	if own.Code != 200 || !strings.Contains(own.Body.String(), secret) {
		f.Fatalf("the phone's own config: %d, secret in it: %v", own.Code, strings.Contains(own.Body.String(), secret))
	}
	n := 0
	f.Fuzz(func(t *testing.T, target string) {
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader("GET " + target + " HTTP/1.1\r\nHost: box\r\n\r\n")))
		if err != nil {
			return
		}
		n++ // a new source each time: the 404 budget is tested elsewhere
		req.RemoteAddr = fmt.Sprintf("198.18.%d.%d:4000", n>>8&255, n&255)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		body := w.Body.String()
		if w.Code >= 500 {
			t.Fatalf("%q: %d %s", target, w.Code, body)
		}
		if strings.Contains(body, secret) {
			if w.Code != 200 || !strings.HasPrefix(req.URL.Path, "/p/"+fuzzToken+"/") {
				t.Fatalf("%q (path %q) disclosed the config: %d", target, req.URL.Path, w.Code)
			}
		}
		if strings.HasPrefix(req.URL.Path, "/api/") && w.Code == 200 {
			t.Fatalf("%q: 200 without login", target)
		}
	})
}
