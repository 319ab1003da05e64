package provision

import (
	"slices"
	"testing"
	"time"

	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/appliance/store"
)

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
