package provision

import (
	"runtime"
	"strings"
	"testing"
	"time"

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

// TestCommitWaitsForFlushInFlight: the flush writes copies taken under the
// lock but writes them without it. An API change to the same phone while
// that write is pending must wait for it: committed first, it would be
// overwritten on disk by the flush's older copy, and a 2xx would have
// promised a change that a power cut then loses.
func TestCommitWaitsForFlushInFlight(t *testing.T) {
	f := newFixture(t)
	m := mac(t, "000B82000001")
	f.c.discover(disc(m, "198.18.0.100", "c1")) // dirty: the next flush writes it
	taken, release := make(chan struct{}), make(chan struct{})
	f.c.mu.Lock()
	f.c.flushHook = func() { close(taken); <-release }
	f.c.mu.Unlock()
	flushed := make(chan error)
	go func() { flushed <- f.c.flush(false) }()
	<-taken // the flush holds a copy of the phone as discovered

	assigned := make(chan error)
	go func() {
		_, err := f.c.Assign(m, assignment)
		assigned <- err
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case err := <-assigned:
			t.Fatalf("Assign returned (%v) while a flush of the same phone was still to be written", err)
		default:
		}
		if !f.c.mu.TryLock() {
			break // Assign holds the lock: it waits for the flush
		}
		f.c.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatal("Assign never took the lock")
		}
		runtime.Gosched()
	}
	close(release)
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	if err := <-assigned; err != nil {
		t.Fatal(err)
	}
	c, err := f.store.Load()
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Phones[m].State; got != appliance.StateAssigned {
		t.Errorf("stored state %s after Assign returned, want assigned (the flush's older copy won)", got)
	}
}
