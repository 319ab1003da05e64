package provision

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/appliance/store"
)

// TestEventsCoverLifecycle: every state change, NOTIFY outcome and
// download of a phone is an event, in order, and none holds a secret.
func TestEventsCoverLifecycle(t *testing.T) {
	f := newFixture(t)
	m := mac(t, "000B82000001")
	f.c.discover(disc(m, "198.18.0.100", "c1"))
	if _, err := f.c.Assign(m, assignment); err != nil {
		t.Fatal(err)
	}
	f.n.SetResult(appliance.NotifyTimeout) // no NOTIFY is in flight yet
	f.c.ProvisionAll()
	f.c.notifWG.Wait()
	f.n.SetResult(appliance.NotifyOK)
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
