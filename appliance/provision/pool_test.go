package provision

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pnpbox/pnpbox/appliance"
)

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
	if err == nil || len(sum.Pooled) != 0 || f.n.Count() != 0 {
		t.Errorf("err %v, pooled %v, %d NOTIFYs", err, sum.Pooled, f.n.Count())
	}
	if e, _ := f.c.Phone(m); e.Assignment != nil || e.Phone.State != appliance.StateDiscovered {
		t.Errorf("phone after a failed pool write: %+v", e)
	}
}
