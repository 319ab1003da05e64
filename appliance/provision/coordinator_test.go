package provision

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/appliance/provision/provisiontest"
	"github.com/pnpbox/pnpbox/appliance/store"
)

type fixture struct {
	c     *Coordinator
	n     *provisiontest.Notifier
	store *store.Store
	path  string
}

func newFixture(t testing.TB, opts ...func(*Config)) *fixture {
	t.Helper()
	path := filepath.Join(t.TempDir(), "phones.db")
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	n := &provisiontest.Notifier{}
	tok := 0
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	if _, bench := t.(*testing.B); bench {
		log = slog.New(slog.DiscardHandler)
	}
	cfg := Config{Store: st, Notifier: n, HTTPPort: 8080, Log: log,
		NewToken: func() string { tok++; return fmt.Sprintf("%032x", tok) }}
	for _, o := range opts {
		o(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// A site SIP server, as on any box ready to provision (without one no
	// phone is sent a NOTIFY; TestNoSIPServerNoNotify clears it).
	if _, err := c.UpdateSettings(jsonEdit(`{"sip_server":"pbx.example.net"}`)); err != nil {
		t.Fatal(err)
	}
	return &fixture{c: c, n: n, store: st, path: path}
}

// notified makes the phone with MAC s seen (from 198.18.0.100), assigned
// and pressed, and returns once its NOTIFY has ended.
func (f *fixture) notified(t *testing.T, s string) appliance.MAC {
	t.Helper()
	m := mac(t, s)
	f.c.discover(disc(m, "198.18.0.100", "c1"))
	if _, err := f.c.Assign(m, assignment); err != nil {
		t.Fatal(err)
	}
	f.c.ProvisionAll()
	f.c.notifWG.Wait()
	return m
}

func mac(t *testing.T, s string) appliance.MAC {
	t.Helper()
	m, err := appliance.ParseMAC(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func disc(m appliance.MAC, ip string, callID string) appliance.Discovery {
	src := netip.MustParseAddrPort(ip + ":5060")
	return appliance.Discovery{
		MAC: m, Vendor: "Grandstream", Model: "GXP2140", Firmware: "1.0.11.3",
		Contact: src, Source: src, Multicast: true, Interface: "lan0",
		Dialog: appliance.Dialog{CallID: callID, RemoteURI: "<sip:MAC%3A" + m.String() + "@224.0.1.75>;tag=1",
			LocalURI: "<sip:MAC%3A" + m.String() + "@224.0.1.75>", LocalTag: "abc", RemoteTarget: "sip:" + src.String(), RemoteAddr: src},
		Txn: callID + "1",
	}
}

var assignment = appliance.Assignment{Extension: "201", Password: "s3cret-pw", DisplayName: "Reception", SIPServer: "pbx.example.net"}

func (f *fixture) state(t *testing.T, m appliance.MAC) appliance.State {
	t.Helper()
	e, err := f.c.Phone(m)
	if err != nil {
		t.Fatalf("phone %s: %v", m, err)
	}
	return e.Phone.State
}

func (f *fixture) download(t *testing.T, m appliance.MAC, file string) error {
	e, err := f.c.Phone(m)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.c.Download(DownloadRequest{Token: e.Phone.Token, File: file, Remote: e.Phone.IP, Local: netip.MustParseAddrPort("198.18.0.1:8080")})
	return err
}

func TestButtonModeLifecycle(t *testing.T) {
	f := newFixture(t)
	m := mac(t, "000B82000001")
	for range 5 { // five tries of one boot: one record
		f.c.discover(disc(m, "198.18.0.100", "call-1"))
	}
	if n := len(f.c.Phones()); n != 1 {
		t.Fatalf("%d phones after 5 SUBSCRIBEs of one phone", n)
	}
	if s := f.state(t, m); s != appliance.StateDiscovered {
		t.Fatalf("state %s", s)
	}
	if _, err := f.c.Assign(m, assignment); err != nil {
		t.Fatal(err)
	}
	if s := f.state(t, m); s != appliance.StateAssigned || f.n.Count() != 0 {
		t.Fatalf("after assign: state %s, %d NOTIFYs (button mode sends none)", s, f.n.Count())
	}
	sum, _ := f.c.ProvisionAll()
	f.c.notifWG.Wait()
	if len(sum.Sent) != 1 || f.n.Count() != 1 {
		t.Fatalf("summary %+v, %d NOTIFYs", sum, f.n.Count())
	}
	call := f.n.Calls()[0]
	if want := "http://198.18.0.1:8080/p/00000000000000000000000000000001/cfg000B82000001"; call.URL != want {
		t.Errorf("NOTIFY URL %q, want %q", call.URL, want)
	}
	if call.CSeq != 1 || call.Dialog.CallID != "call-1" {
		t.Errorf("NOTIFY in dialog %q with CSeq %d", call.Dialog.CallID, call.CSeq)
	}
	if s := f.state(t, m); s != appliance.StateNotified {
		t.Fatalf("state %s, want notified", s)
	}
	// After its NOTIFY the phone keeps beaconing; that must not re-NOTIFY.
	f.c.discover(disc(m, "198.18.0.100", "call-2"))
	f.c.notifWG.Wait()
	if f.n.Count() != 1 {
		t.Errorf("a SUBSCRIBE after the NOTIFY caused another (%d)", f.n.Count())
	}
	if err := f.download(t, m, "cfg000B82000001"); err != nil {
		t.Fatal(err)
	}
	if s := f.state(t, m); s != appliance.StateDownloaded {
		t.Fatalf("state %s, want downloaded", s)
	}
	if err := f.download(t, m, "cfg000b82000001.xml"); err != nil {
		t.Fatal(err)
	}
	if s := f.state(t, m); s != appliance.StateProvisioned {
		t.Fatalf("state %s, want provisioned", s)
	}
	// A second press sends nothing: nothing is pending.
	if sum, _ := f.c.ProvisionAll(); len(sum.Sent) != 0 {
		t.Errorf("second press sent %v", sum.Sent)
	}
}

func TestNoSecondNotifyWhileInFlight(t *testing.T) {
	f := newFixture(t)
	block := make(chan struct{})
	f.n.Block(block)
	m := mac(t, "000B82000001")
	f.c.discover(disc(m, "198.18.0.100", "call-1"))
	f.c.Assign(m, assignment)
	f.c.ProvisionAll()
	f.c.ProvisionAll()
	for range 5 {
		f.c.discover(disc(m, "198.18.0.100", "call-1"))
	}
	if err := f.c.Provision(m); !errors.Is(err, ErrBusy) {
		t.Errorf("Provision while in flight: %v, want ErrBusy", err)
	}
	close(block)
	f.c.notifWG.Wait()
	if n := f.n.Count(); n != 1 {
		t.Errorf("%d NOTIFYs, want 1", n)
	}
}

func TestFailedRetriedOnNextSubscribe(t *testing.T) {
	f := newFixture(t)
	f.n.SetResult(appliance.NotifyTimeout)
	m := mac(t, "000B82000001")
	f.c.discover(disc(m, "198.18.0.100", "call-1"))
	f.c.Assign(m, assignment)
	f.c.ProvisionAll()
	f.c.notifWG.Wait()
	if s := f.state(t, m); s != appliance.StateFailed {
		t.Fatalf("state %s, want failed", s)
	}
	e, _ := f.c.Phone(m)
	if e.Phone.LastNotify == nil || e.Phone.LastNotify.Result != appliance.NotifyTimeout {
		t.Errorf("outcome not recorded: %+v", e.Phone.LastNotify)
	}
	f.n.SetResult(appliance.NotifyOK)
	f.c.discover(disc(m, "198.18.0.100", "call-2")) // the phone rebooted
	f.c.notifWG.Wait()
	if n, s := f.n.Count(), f.state(t, m); n != 2 || s != appliance.StateNotified {
		t.Errorf("after next SUBSCRIBE: %d NOTIFYs, state %s", n, s)
	}
	if f.n.Calls()[1].Dialog.CallID != "call-2" {
		t.Errorf("retry used dialog %q, want the new one", f.n.Calls()[1].Dialog.CallID)
	}
}

func TestAutoMode(t *testing.T) {
	f := newFixture(t)
	if _, err := f.c.UpdateSettings(jsonEdit(`{"provision_mode":"auto"}`)); err != nil {
		t.Fatal(err)
	}
	seen, prestaged := mac(t, "000B82000001"), mac(t, "000B82000002")
	f.c.discover(disc(seen, "198.18.0.100", "c1"))
	if _, err := f.c.Assign(seen, assignment); err != nil { // assignment added for a phone already seen
		t.Fatal(err)
	}
	a2 := assignment
	a2.Extension = "202"
	if _, err := f.c.Assign(prestaged, a2); err != nil { // pre-staged: nothing to send to yet
		t.Fatal(err)
	}
	f.c.notifWG.Wait()
	if n := f.n.Count(); n != 1 {
		t.Fatalf("%d NOTIFYs after assigning, want 1", n)
	}
	f.c.discover(disc(prestaged, "198.18.0.101", "c2")) // a discovered phone has an assignment
	f.c.notifWG.Wait()
	if n := f.n.Count(); n != 2 {
		t.Fatalf("%d NOTIFYs after the pre-staged phone appeared, want 2", n)
	}
}

func TestUnassignPrestagedForgets(t *testing.T) {
	f := newFixture(t)
	m := mac(t, "000B82000009")
	if _, err := f.c.Assign(m, assignment); err != nil {
		t.Fatal(err)
	}
	e, err := f.c.Phone(m)
	if err != nil || e.Phone.State != appliance.StateAssigned || e.Phone.Seen() || e.Phone.IP.IsValid() {
		t.Fatalf("pre-staged entry %+v, %v", e.Phone, err)
	}
	if err := f.c.Unassign(m); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.Phone(m); !errors.Is(err, ErrNotFound) {
		t.Errorf("pre-staged phone still known after unassign: %v", err)
	}
	if _, err := f.c.Download(DownloadRequest{Token: e.Phone.Token, File: "cfg.xml"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("its token still works: %v", err)
	}
}

func TestDownloadRefusals(t *testing.T) {
	f := newFixture(t)
	m, other := mac(t, "000B82000001"), mac(t, "000B82000002")
	f.c.discover(disc(m, "198.18.0.100", "c1"))
	f.c.discover(disc(other, "198.18.0.101", "c2"))
	if err := f.download(t, m, "cfg.xml"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unassigned phone's config served: %v", err)
	}
	f.c.Assign(m, assignment)
	for _, name := range []string{"cfg000b82000002.xml", "cfg000B82000002", "cfggxp2160.xml", "../cfg.xml", "cfg000b82000001.bin", "x"} {
		if err := f.download(t, m, name); !errors.Is(err, ErrNotFound) {
			t.Errorf("%q served: %v", name, err)
		}
	}
	for _, name := range []string{"", "cfg000B82000001", "CFG000B82000001.XML", "cfggxp2140.xml", "cfg.xml"} {
		if err := f.download(t, m, name); err != nil {
			t.Errorf("%q refused: %v", name, err)
		}
	}
	if _, err := f.c.Download(DownloadRequest{Token: strings.Repeat("0", 32), File: "cfg.xml"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("wrong token: %v", err)
	}
}

func TestAssignValidation(t *testing.T) {
	f := newFixture(t)
	m := mac(t, "000B82000001")
	for _, tt := range []struct {
		a     appliance.Assignment
		field string
	}{
		{appliance.Assignment{Password: "x"}, "extension"},
		{appliance.Assignment{Extension: "20 1", Password: "x"}, "extension"},
		{appliance.Assignment{Extension: "201"}, "password"},
		{appliance.Assignment{Extension: "201", Password: "x", Codecs: []string{"PCMU", "GSM"}}, "codecs[1]"},
		{appliance.Assignment{Extension: "201", Password: "x", SIPServer: "bad host!"}, "sip_server"},
	} {
		_, err := f.c.Assign(m, tt.a)
		var fe *appliance.FieldError
		if !errors.As(err, &fe) || fe.Field != tt.field {
			t.Errorf("Assign(%+v) = %v, want a FieldError on %s", tt.a, err, tt.field)
		}
	}
	// An empty password on update keeps the stored one.
	if _, err := f.c.Assign(m, assignment); err != nil {
		t.Fatal(err)
	}
	upd := assignment
	upd.Password, upd.DisplayName = "", "Front desk"
	got, err := f.c.Assign(m, upd)
	if err != nil || got.Password != assignment.Password || got.DisplayName != "Front desk" {
		t.Errorf("update without password: %+v, %v", got, err)
	}
}

// TestStatePersists: what the coordinator learned survives a restart.
func TestStatePersists(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- f.c.Run(ctx) }()
	m := mac(t, "000B82000001")
	f.c.Offer(disc(m, "198.18.0.100", "c1"))
	if _, err := f.c.Assign(m, assignment); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	c2, err := New(Config{Store: f.store, Notifier: f.n, HTTPPort: 8080})
	if err != nil {
		t.Fatal(err)
	}
	e, err := c2.Phone(m)
	if err != nil || e.Assignment == nil || e.Phone.Vendor != "Grandstream" || e.Phone.Dialog == nil || e.Phone.Dialog.CallID != "c1" {
		t.Errorf("after restart: %+v, %v", e, err)
	}
}

// TestFloodCommitsBounded: 10,000 SUBSCRIBEs for 100 phones must not turn
// into thousands of fsyncs.
func TestFloodCommitsBounded(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- f.c.Run(ctx) }()
	before := f.store.Commits()
	for i := range 10000 {
		m := appliance.MAC{0x00, 0x0b, 0x82, 0, 0, byte(i % 100)}
		if m[5] == 0 {
			m[5] = 100
		}
		for !f.c.Offer(disc(m, "198.18.0.100", fmt.Sprintf("call-%d", i%100))) {
			time.Sleep(time.Millisecond) // queue full: let Run drain it
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := len(f.c.Phones()); n != 100 {
		t.Errorf("%d phones, want 100", n)
	}
	if commits := f.store.Commits() - before; commits > 50 {
		t.Errorf("%d commits for 10,000 SUBSCRIBEs", commits)
	} else {
		t.Logf("%d commits for 10,000 SUBSCRIBEs", commits)
	}
}

// TestDownloadBeforeNotifyAnswer: a phone may fetch its config before the
// box has processed its 200 to the NOTIFY. The late 200 must not move the
// phone back, or its second download would count as its first (the netns
// fleet test caught this as phones stuck in downloaded).
func TestDownloadBeforeNotifyAnswer(t *testing.T) {
	f := newFixture(t)
	block := make(chan struct{})
	f.n.Block(block)
	m := mac(t, "000B82000001")
	f.c.discover(disc(m, "198.18.0.100", "c1"))
	f.c.Assign(m, assignment)
	f.c.ProvisionAll()
	if err := f.download(t, m, "cfg000B82000001"); err != nil {
		t.Fatal(err)
	}
	close(block) // now the 200 arrives
	f.c.notifWG.Wait()
	if s := f.state(t, m); s != appliance.StateDownloaded {
		t.Fatalf("after the late 200: %s, want downloaded", s)
	}
	f.download(t, m, "cfg000b82000001.xml")
	if s := f.state(t, m); s != appliance.StateProvisioned {
		t.Errorf("after the second download: %s, want provisioned", s)
	}
	// A forced re-provision starts a new round: two more downloads needed.
	f.n.Block(nil)
	if err := f.c.Provision(m); err != nil {
		t.Fatal(err)
	}
	f.c.notifWG.Wait()
	if s := f.state(t, m); s != appliance.StateNotified {
		t.Errorf("re-provisioned phone: %s, want notified", s)
	}
}

func TestNoSIPServerNoNotify(t *testing.T) {
	f := newFixture(t)
	m := mac(t, "000B82000001")
	f.c.discover(disc(m, "198.18.0.100", "c1"))
	if _, err := f.c.UpdateSettings(jsonEdit(`{"sip_server":""}`)); err != nil {
		t.Fatal(err)
	}
	a := assignment
	a.SIPServer = ""
	f.c.Assign(m, a)
	sum, _ := f.c.ProvisionAll()
	if len(sum.Sent) != 0 || len(sum.Skipped) != 1 || !strings.Contains(sum.Skipped[0].Reason, "sip_server") {
		t.Fatalf("summary %+v", sum)
	}
	if _, err := f.c.UpdateSettings(jsonEdit(`{"sip_server":"pbx.example.net"}`)); err != nil {
		t.Fatal(err)
	}
	if sum, _ := f.c.ProvisionAll(); len(sum.Sent) != 1 {
		t.Errorf("with a site SIP server: %+v", sum)
	}
	f.c.notifWG.Wait()
}

// TestFlushDuringSteadyStream: a discovery is written within the flush
// delay even while others keep arriving (a timer pushed back by every
// change would wait for the stream to end), and not before it: changes
// are coalesced, at most one commit per flush delay. In a synctest bubble,
// so the delays are exact and the test takes no wall time.
func TestFlushDuringSteadyStream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const delay = 250 * time.Millisecond
		f := newFixture(t, func(c *Config) { c.FlushDelay = delay })
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- f.c.Run(ctx) }()
		defer func() { cancel(); <-done }()
		written := func(m appliance.MAC) bool {
			snap, err := f.store.Load()
			if err != nil {
				t.Fatal(err)
			}
			_, ok := snap.Phones[m]
			return ok
		}
		first := mac(t, "000B82000001")
		start := time.Now()
		commits := f.store.Commits()
		f.c.Offer(disc(first, "198.18.0.100", "c0"))
		for i := 1; ; i++ {
			// Another phone's SUBSCRIBE every millisecond: a change each time.
			f.c.Offer(disc(appliance.MAC{0, 0x0b, 0x82, 1, byte(i >> 8), byte(i)}, "198.18.0.101", fmt.Sprint("c", i)))
			time.Sleep(time.Millisecond)
			synctest.Wait()
			if written(first) {
				break
			}
			if time.Since(start) > delay {
				t.Fatalf("the first discovery was not written %v after it arrived, while the stream went on", time.Since(start))
			}
		}
		if took := time.Since(start); took < delay {
			t.Errorf("the first discovery was written after %v, before the flush delay %v: not coalesced", took, delay)
		}
		// A second of steady stream: at most one commit per flush delay.
		for i := 1000; i < 2000; i++ {
			f.c.Offer(disc(appliance.MAC{0, 0x0b, 0x82, 1, byte(i >> 8), byte(i)}, "198.18.0.101", fmt.Sprint("c", i)))
			time.Sleep(time.Millisecond)
		}
		synctest.Wait()
		if n := f.store.Commits() - commits; n > uint64(time.Since(start)/delay)+1 {
			t.Errorf("%d commits in %v of steady stream, want at most one per %v", n, time.Since(start), delay)
		}
	})
}

// TestLegacyBinaryServed: with legacy_binary on, cfg<mac> (the name the
// NOTIFY URL carries) is the binary encoding; the .xml names stay XML.
func TestLegacyBinaryServed(t *testing.T) {
	f := newFixture(t)
	m := mac(t, "000B82000001")
	f.c.discover(disc(m, "198.18.0.100", "c1"))
	f.c.Assign(m, assignment)
	e, _ := f.c.Phone(m)
	get := func(file string) File {
		t.Helper()
		out, err := f.c.Download(DownloadRequest{Token: e.Phone.Token, File: file, Remote: e.Phone.IP, Local: netip.MustParseAddrPort("198.18.0.1:80")})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got := get("cfg000B82000001"); got.ContentType != "application/xml" {
		t.Errorf("legacy off: %s", got.ContentType)
	}
	if _, err := f.c.UpdateSettings(jsonEdit(`{"legacy_binary":true}`)); err != nil {
		t.Fatal(err)
	}
	bin := get("cfg000b82000001")
	if bin.ContentType != "application/octet-stream" || !strings.Contains(string(bin.Body), "gnkey=0b82") || string(bin.Body[6:12]) != string(m[:]) {
		t.Errorf("legacy on: %s %q", bin.ContentType, bin.Body[:min(40, len(bin.Body))])
	}
	if got := get("cfg000b82000001.xml"); got.ContentType != "application/xml" {
		t.Errorf(".xml with legacy on: %s", got.ContentType)
	}
}

// clock is a fake time that moves one second per reading, so phones
// discovered one after another have distinct first-seen times.
func clock() func(*Config) {
	t := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	return func(c *Config) { c.Now = func() time.Time { t = t.Add(time.Second); return t } }
}

func (f *fixture) settings(t *testing.T, patch string) {
	t.Helper()
	if _, err := f.c.UpdateSettings(jsonEdit(patch)); err != nil {
		t.Fatalf("settings %s: %v", patch, err)
	}
}

func (f *fixture) events(t *testing.T, kind string) []string {
	t.Helper()
	evs, err := f.c.Events(store.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		if e.Kind == kind {
			s := e.Detail
			if !e.MAC.IsZero() {
				s = e.MAC.String() + " " + s
			}
			out = append(out, s)
		}
	}
	return out
}

// jsonEdit is a settings edit that decodes patch over the settings, as
// PUT /api/settings does (the web package owns the real decoding).
func jsonEdit(patch string) func(appliance.Settings) (appliance.Settings, error) {
	return func(s appliance.Settings) (appliance.Settings, error) {
		dec := json.NewDecoder(strings.NewReader(patch))
		dec.DisallowUnknownFields()
		err := dec.Decode(&s)
		return s, err
	}
}
