package web

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/appliance/panel"
	"github.com/pnpbox/pnpbox/appliance/pnp"
	"github.com/pnpbox/pnpbox/appliance/provision"
	"github.com/pnpbox/pnpbox/appliance/provision/provisiontest"
	"github.com/pnpbox/pnpbox/appliance/store"
	"github.com/pnpbox/pnpbox/internal/apiclient"
)

const adminPassword = "correct-horse-42"

// testBox is the web handler on loopback over a real coordinator and a
// bbolt store in a temp dir; only the SIP side is a fake. Every answer its
// clients receive is checked against openapi.yaml (spec_test.go).
type testBox struct {
	t        testing.TB
	coord    *provision.Coordinator
	notifier *provisiontest.Notifier
	claim    *panel.Claim
	clock    *clock
	srv      *httptest.Server
	admin    *apiclient.Client // logged in as admin
	anon     *apiclient.Client // no credentials

	mu      sync.Mutex
	box     Box
	presses []time.Duration
}

// boxOptions vary a testBox.
type boxOptions struct {
	noAdmin  bool              // no admin password set (first boot)
	noButton bool              // a board whose button the API cannot press
	alerts   []appliance.Alert // in the store before the coordinator starts
	tls      TLSCert           // the box's certificate (nil: HTTPS off)
}

func newTestBox(t testing.TB, opts ...func(*boxOptions)) *testBox {
	t.Helper()
	var o boxOptions
	for _, f := range opts {
		f(&o)
	}
	st, err := store.Open(filepath.Join(t.TempDir(), "phones.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var w store.Write
	if o.alerts != nil {
		w.Alerts = &o.alerts
	}
	if !o.noAdmin {
		w.Admin = cheapCredential(t, adminPassword)
	}
	if err := st.Apply(w); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	b := &testBox{t: t, notifier: &provisiontest.Notifier{}, claim: &panel.Claim{},
		clock: &clock{t: time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)}}
	b.coord, err = provision.New(provision.Config{Store: st, Notifier: b.notifier, Log: log, HTTPPort: 8080})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.coord.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("coordinator: %v", err)
		}
	})
	b.box = Box{Version: "test", Started: b.clock.Now().Add(-time.Hour), Interface: "lan0", LED: "idle",
		MulticastJoined: true, Interfaces: []Iface{{Name: "lan0", Addresses: []netip.Prefix{netip.MustParsePrefix("198.18.0.1/24")}, Joined: true}}}
	d := Deps{Coord: b.coord, Box: b.boxState, Claim: b.claim, Log: log, Now: b.clock.Now, TempDir: t.TempDir(), TLS: o.tls}
	if !o.noButton {
		d.Press = b.press
	}
	b.srv = httptest.NewServer(New(d))
	t.Cleanup(b.srv.Close)
	hc := &http.Client{Transport: &specCheck{t: t, next: http.DefaultTransport}, Timeout: 30 * time.Second}
	b.admin = &apiclient.Client{Base: b.srv.URL, Password: adminPassword, HTTP: hc}
	b.anon = &apiclient.Client{Base: b.srv.URL, HTTP: hc}
	return b
}

func (b *testBox) boxState() Box {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.box
}

// setProblem makes the board report a problem ("" for none).
func (b *testBox) setProblem(p string) {
	b.mu.Lock()
	b.box.Problem = p
	b.mu.Unlock()
}

func (b *testBox) press(hold time.Duration) {
	b.mu.Lock()
	b.presses = append(b.presses, hold)
	b.mu.Unlock()
}

func (b *testBox) pressed() []time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]time.Duration(nil), b.presses...)
}

// announce makes phone mac (a GXP2140 at ip in the test LAN) announce
// itself as its SUBSCRIBE would, and waits until the coordinator has
// recorded it.
func (b *testBox) announce(mac, ip string) appliance.MAC {
	b.t.Helper()
	m, err := appliance.ParseMAC(mac)
	if err != nil {
		b.t.Fatal(err)
	}
	src := netip.MustParseAddrPort(ip + ":5060")
	callID := mac + "@" + ip
	d := pnp.Discovery{
		MAC: m, Vendor: "Grandstream", Model: "GXP2140", Firmware: "1.0.11.3",
		Contact: src, Source: src, Multicast: true, Interface: provisiontest.LANIface,
		Dialog: appliance.Dialog{CallID: callID, RemoteURI: "<sip:MAC%3A" + m.String() + "@224.0.1.75>;tag=1",
			LocalURI: "<sip:MAC%3A" + m.String() + "@224.0.1.75>", LocalTag: "abc", RemoteTarget: "sip:" + src.String(), RemoteAddr: src},
		Txn: callID + "1",
	}
	if !b.coord.Offer(d) {
		b.t.Fatal("discovery queue full")
	}
	b.waitFor("phone "+mac+" recorded", func() bool {
		e, err := b.coord.Phone(m)
		return err == nil && e.Phone.Seen()
	})
	return m
}

// waitFor polls cond until it holds or 30 s pass.
func (b *testBox) waitFor(what string, cond func() bool) {
	b.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			b.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// configPath is the path part of phone mac's config_url.
func (b *testBox) configPath(mac string) string {
	b.t.Helper()
	var p struct {
		ConfigURL string `json:"config_url"`
	}
	if code := b.admin.Call(b.t, "GET", "/api/phones/"+mac, "", &p); code != 200 {
		b.t.Fatalf("GET phone %s: %d", mac, code)
	}
	u, err := url.Parse(p.ConfigURL)
	if err != nil || u.Path == "" {
		b.t.Fatalf("config_url %q: %v", p.ConfigURL, err)
	}
	return u.Path
}

// cheapCredential is the admin password hashed with one PBKDF2 round
// instead of the real 200,000: the login code reads the count from the
// record, and a real hash per test box (and per wrong password in the
// throttle tests) would make the tests crawl under the race detector.
func cheapCredential(t testing.TB, pw string) *store.Credential {
	salt := []byte("pnpbox-web-tests")
	h, err := pbkdf2.Key(sha256.New, pw, salt, 1, 32)
	if err != nil {
		t.Fatal(err)
	}
	return &store.Credential{Salt: salt, Iterations: 1, Hash: h}
}

// clock is a settable time for the handler (login throttle, uptime).
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
