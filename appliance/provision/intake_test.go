package provision

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/appliance/store"
)

// clock is a fake time that moves one second per reading, so phones
// discovered one after another have distinct first-seen times.
func clock() func(*Config) {
	t := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	return func(c *Config) { c.Now = func() time.Time { t = t.Add(time.Second); return t } }
}

func (f *fixture) settings(t *testing.T, patch string) {
	t.Helper()
	if _, err := f.c.UpdateSettings([]byte(patch)); err != nil {
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

func TestPoolGrantsAndNeverReuses(t *testing.T) {
	f := newFixture(t, clock())
	f.settings(t, `{"extension_pool":"200-202"}`)
	phones := []appliance.MAC{mac(t, "000B82000004"), mac(t, "000B82000003"), mac(t, "000B82000002"), mac(t, "000B82000001")}
	for i, m := range phones { // discovered in this order
		f.c.discover(disc(m, fmt.Sprintf("198.18.0.%d", 100+i), fmt.Sprint("c", i)))
	}
	prestaged := mac(t, "000B820000FF")
	a := assignment
	a.Extension = "201" // taken: the pool must skip it
	if _, err := f.c.Assign(prestaged, a); err != nil {
		t.Fatal(err)
	}
	if st := f.c.Status(); st.Pending != 3 || st.Pool != (PoolStatus{Range: "200-202", Size: 3, Free: 2, Waiting: 4}) {
		t.Errorf("before the press: pending %d, pool %+v", st.Pending, st.Pool)
	}

	sum, err := f.c.ProvisionAll()
	if err != nil {
		t.Fatal(err)
	}
	f.c.notifWG.Wait()
	want := []Grant{{phones[0], "200"}, {phones[1], "202"}}
	if diff := cmp.Diff(want, sum.Pooled); diff != "" {
		t.Errorf("pooled in first-seen order (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]appliance.MAC{phones[1], phones[0]}, sum.Sent); diff != "" {
		t.Errorf("sent (-want +got):\n%s", diff)
	}
	var skipped []string
	for _, s := range sum.Skipped {
		skipped = append(skipped, s.MAC.String()+": "+s.Reason)
	}
	wantSkipped := []string{"000B82000002: no free extension left in the pool 200-202", "000B82000001: no free extension left in the pool 200-202",
		"000B820000FF: phone has not announced itself yet"}
	if diff := cmp.Diff(wantSkipped, skipped); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}
	for _, m := range phones[2:] {
		if s := f.state(t, m); s != appliance.StateDiscovered {
			t.Errorf("%s left over is %s, want discovered", m, s)
		}
	}
	if got := f.events(t, appliance.EventPool); len(got) != 3 || !strings.Contains(got[2], "2 extensions handed out (200 … 202); 2 phones left") {
		t.Errorf("pool events: %q", got)
	}
	pw := map[string]bool{}
	for _, m := range phones[:2] {
		e, _ := f.c.Phone(m)
		p := e.Assignment.Password
		if len(p) != 20 || strings.ContainsAny(p, "0O1lI") || pw[p] {
			t.Errorf("generated password %q: want 20 unambiguous characters, unique", p)
		}
		pw[p] = true
		for _, d := range f.events(t, appliance.EventAssigned) {
			if strings.Contains(d, p) {
				t.Errorf("an event holds the password: %q", d)
			}
		}
	}

	// Removing an assignment does not free its extension for the pool: the
	// phone still holds that account.
	if err := f.c.Unassign(phones[0]); err != nil {
		t.Fatal(err)
	}
	sum, _ = f.c.ProvisionAll()
	if len(sum.Pooled) != 0 {
		t.Errorf("pool reused an extension: %+v", sum.Pooled)
	}
	// A wider pool serves the rest; the ledger survives a restart.
	f.settings(t, `{"extension_pool":"200-205"}`)
	c2, err := New(Config{Store: f.store, Notifier: f.n, HTTPPort: 8080})
	if err != nil {
		t.Fatal(err)
	}
	sum, _ = c2.ProvisionAll()
	c2.notifWG.Wait()
	want = []Grant{{phones[0], "203"}, {phones[2], "204"}, {phones[3], "205"}}
	if diff := cmp.Diff(want, sum.Pooled); diff != "" {
		t.Errorf("after widening and a restart (-want +got):\n%s", diff)
	}
}

func TestPoolCapPerPress(t *testing.T) {
	f := newFixture(t, clock())
	f.settings(t, `{"extension_pool":"0200-0299","pool_max_per_press":2,"pool_password_length":32}`)
	for i := range 3 {
		f.c.discover(disc(appliance.MAC{0, 0x0b, 0x82, 0, 0, byte(i + 1)}, fmt.Sprintf("198.18.0.%d", 100+i), fmt.Sprint("c", i)))
	}
	sum, err := f.c.ProvisionAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Pooled) != 2 || sum.Pooled[1].Extension != "0201" || len(sum.Skipped) != 1 || !strings.Contains(sum.Skipped[0].Reason, "pool_max_per_press (2) reached") {
		t.Errorf("summary %+v", sum)
	}
	e, _ := f.c.Phone(sum.Pooled[0].MAC)
	if len(e.Assignment.Password) != 32 {
		t.Errorf("password length %d, want 32", len(e.Assignment.Password))
	}
	if got := f.events(t, appliance.EventPool); len(got) != 1 {
		t.Errorf("a capped press is no failure; events: %q", got)
	}
	f.c.notifWG.Wait()
	if sum, _ := f.c.ProvisionAll(); len(sum.Pooled) != 1 {
		t.Errorf("second press pooled %+v", sum.Pooled)
	}
}

// TestPoolNotStoredNoNotify: when the pool's assignments cannot be
// written, no phone gets them and none is notified with them.
func TestPoolNotStoredNoNotify(t *testing.T) {
	f := newFixture(t, clock())
	f.settings(t, `{"extension_pool":"200-299"}`)
	m := mac(t, "000B82000001")
	f.c.discover(disc(m, "198.18.0.100", "c1"))
	f.store.Close()
	sum, err := f.c.ProvisionAll()
	f.c.notifWG.Wait()
	if err == nil || len(sum.Pooled) != 0 || f.n.count() != 0 {
		t.Errorf("err %v, pooled %v, %d NOTIFYs", err, sum.Pooled, f.n.count())
	}
	if e, _ := f.c.Phone(m); e.Assignment != nil || e.Phone.State != appliance.StateDiscovered {
		t.Errorf("phone after a failed pool write: %+v", e)
	}
}

func TestApproval(t *testing.T) {
	f := newFixture(t, clock())
	f.settings(t, `{"unknown_phones":"ignore","allow_macs":["000B82"],"deny_macs":["00:0B:82:00:00:09"]}`)
	other := mac(t, "001565000001")     // not on the allow list
	allowed := mac(t, "000B82000001")   // the OUI is allowed
	denied := mac(t, "000B82000009")    // allowed OUI, but denied
	prestaged := mac(t, "001565000002") // not allowed, but expected
	a := assignment
	a.Extension = "202"
	if _, err := f.c.Assign(prestaged, a); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.Assign(denied, assignment); !errors.Is(err, ErrDenied) {
		t.Errorf("assign to a denied MAC: %v", err)
	}
	for i, m := range []appliance.MAC{other, allowed, denied, prestaged, other} {
		d := disc(m, fmt.Sprintf("198.18.0.%d", 100+i), fmt.Sprint("c", i))
		d.Vendor = "Grandstream"
		f.c.discover(d)
	}
	var got []string
	for _, e := range f.c.Phones() {
		got = append(got, e.Phone.MAC.String())
	}
	if diff := cmp.Diff([]string{"000B82000001", "001565000002"}, got); diff != "" {
		t.Errorf("recorded (-want +got):\n%s", diff)
	}
	st := f.c.Status()
	if st.Intake.Ignored != 2 || st.Intake.Denied != 1 || len(st.Intake.Recent) != 2 || st.Intake.Recent[1].MAC != other {
		t.Errorf("intake %+v", st.Intake)
	}
	if e, _ := f.c.Phone(prestaged); !e.Phone.Seen() {
		t.Error("the pre-staged phone's SUBSCRIBE was not recorded")
	}

	// A phone denied after it was recorded is kept but never provisioned.
	f.settings(t, `{"deny_macs":["000B82000001"],"unknown_phones":"list","allow_macs":[]}`)
	if _, err := f.c.Assign(allowed, assignment); !errors.Is(err, ErrDenied) {
		t.Errorf("assign: %v", err)
	}
	f.c.discover(disc(other, "198.18.0.200", "c9")) // list mode: recorded now
	if _, err := f.c.Phone(other); err != nil {
		t.Errorf("list mode: %v", err)
	}
}

func TestDeniedPhoneGetsNoConfig(t *testing.T) {
	f := newFixture(t)
	m := mac(t, "000B82000001")
	f.c.discover(disc(m, "198.18.0.100", "c1"))
	if _, err := f.c.Assign(m, assignment); err != nil {
		t.Fatal(err)
	}
	f.settings(t, `{"deny_macs":["000B82000001"]}`)
	if err := f.download(t, m, "cfg.xml"); !errors.Is(err, ErrNotFound) {
		t.Errorf("download by a denied phone: %v", err)
	}
	sum, _ := f.c.ProvisionAll()
	if len(sum.Sent) != 0 || len(sum.Skipped) != 1 || sum.Skipped[0].Reason != ErrDenied.Error() {
		t.Errorf("press: %+v", sum)
	}
}

func TestAlertsAck(t *testing.T) {
	f := newFixture(t)
	alerts := []appliance.Alert{{Time: time.Now().UTC(), Kind: appliance.AlertDatabaseRecovered, Message: "damaged"}}
	if err := f.store.Apply(store.Write{Alerts: &alerts}); err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{Store: f.store, Notifier: f.n})
	if err != nil {
		t.Fatal(err)
	}
	if st := c.Status(); len(st.Alerts) != 1 {
		t.Fatalf("status alerts %+v", st.Alerts)
	}
	if n, err := c.AckAlerts(); n != 1 || err != nil {
		t.Fatalf("ack: %d, %v", n, err)
	}
	if n, err := c.AckAlerts(); n != 0 || err != nil {
		t.Errorf("second ack: %d, %v", n, err)
	}
	c2, _ := New(Config{Store: f.store, Notifier: f.n})
	if got := c2.Alerts(); len(got) != 0 {
		t.Errorf("acknowledged alert back after a restart: %+v", got)
	}
	evs, _ := c2.Events(store.EventFilter{})
	if !slices.ContainsFunc(evs, func(e appliance.Event) bool { return e.Kind == appliance.EventAlert }) {
		t.Error("no event for the acknowledgement")
	}
}

// TestEventsCoverLifecycle: every state change, NOTIFY outcome and
// download of a phone is an event, in order, and none holds a secret.
func TestEventsCoverLifecycle(t *testing.T) {
	f := newFixture(t)
	m := mac(t, "000B82000001")
	f.c.discover(disc(m, "198.18.0.100", "c1"))
	if _, err := f.c.Assign(m, assignment); err != nil {
		t.Fatal(err)
	}
	f.n.result = appliance.NotifyTimeout // no NOTIFY is in flight yet
	f.c.ProvisionAll()
	f.c.notifWG.Wait()
	f.n.mu.Lock()
	f.n.result = appliance.NotifyOK
	f.n.mu.Unlock()
	f.c.Provision(m)
	f.c.notifWG.Wait()
	for range 2 {
		if err := f.download(t, m, "cfg.xml"); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.c.Unassign(m); err != nil {
		t.Fatal(err)
	}
	evs, err := f.c.Events(store.EventFilter{MAC: &m})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		s := e.Kind
		if e.Kind == appliance.EventState {
			s += " " + e.Detail
		}
		got = append(got, s)
		if strings.Contains(e.Detail, assignment.Password) {
			t.Errorf("event holds the password: %+v", e)
		}
	}
	want := []string{"discovered", "assigned", "state discovered → assigned",
		"state assigned → failed", "notify", "state failed → notified", "notify",
		"state notified → downloaded", "download", "state downloaded → provisioned", "download",
		"unassigned", "state provisioned → discovered"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}
