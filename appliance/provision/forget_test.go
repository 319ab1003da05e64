package provision

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/appliance/store"
)

// TestForget: a phone the box has seen, with an assignment, is forgotten
// entirely, on disk before Forget returns; its config URL stops working;
// when it announces itself again it is a new, discovered phone.
func TestForget(t *testing.T) {
	f := newFixture(t)
	m, other := mac(t, "000B82000001"), mac(t, "000B82000002")
	f.c.discover(disc(m, "198.18.0.100", "c1"))
	f.c.discover(disc(other, "198.18.0.101", "c2"))
	if _, err := f.c.Assign(m, assignment); err != nil {
		t.Fatal(err)
	}
	before, err := f.c.Phone(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.c.Forget(m); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.Phone(m); !errors.Is(err, ErrNotFound) {
		t.Errorf("Phone after Forget: %v, want ErrNotFound", err)
	}
	if _, err := f.c.Download(DownloadRequest{Token: before.Phone.Token, File: "cfg.xml", Remote: before.Phone.IP,
		Local: netip.MustParseAddrPort("198.18.0.1:8080")}); !errors.Is(err, ErrNotFound) {
		t.Errorf("the forgotten phone's token still serves its config: %v", err)
	}
	if n := f.c.Status().Counts[appliance.StateAssigned]; n != 0 {
		t.Errorf("%d phones counted assigned after forgetting the only one", n)
	}
	evs, err := f.c.Events(store.EventFilter{MAC: &m})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) == 0 || !strings.Contains(evs[len(evs)-1].Detail, "forgot this phone and its assignment (extension 201)") {
		t.Errorf("last event of the forgotten phone: %+v", evs[len(evs)-1:])
	}

	// On disk already: a coordinator opened on the same store (nothing
	// flushed in between) does not know the phone; the other is kept.
	c2, err := New(Config{Store: f.store, Notifier: f.n, HTTPPort: 8080})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c2.Phone(m); !errors.Is(err, ErrNotFound) {
		t.Errorf("after reopening the store the forgotten phone is back: %v", err)
	}
	if e, err := c2.Phone(m); err == nil && e.Assignment != nil {
		t.Errorf("its assignment is back: %+v", e.Assignment)
	}

	f.c.discover(disc(m, "198.18.0.100", "c3"))
	again, err := f.c.Phone(m)
	if err != nil {
		t.Fatal(err)
	}
	if again.Phone.State != appliance.StateDiscovered || again.Assignment != nil || again.Phone.Token == before.Phone.Token {
		t.Errorf("re-announced: state %s, assignment %v, same token %v; want discovered, none, a new token",
			again.Phone.State, again.Assignment, again.Phone.Token == before.Phone.Token)
	}
}

func TestForgetRefusals(t *testing.T) {
	f := newFixture(t)
	m := mac(t, "000B82000001")
	if err := f.c.Forget(m); !errors.Is(err, ErrNotFound) {
		t.Errorf("Forget of an unknown phone: %v, want ErrNotFound", err)
	}
	block := make(chan struct{})
	f.n.Block(block)
	f.c.discover(disc(m, "198.18.0.100", "c1"))
	if _, err := f.c.Assign(m, assignment); err != nil {
		t.Fatal(err)
	}
	if err := f.c.Provision(m); err != nil {
		t.Fatal(err)
	}
	if err := f.c.Forget(m); !errors.Is(err, ErrBusy) {
		t.Errorf("Forget while its NOTIFY is unanswered: %v, want ErrBusy", err)
	}
	close(block)
	f.c.notifWG.Wait()
	if err := f.c.Forget(m); err != nil {
		t.Errorf("Forget once the NOTIFY was answered: %v", err)
	}
}
