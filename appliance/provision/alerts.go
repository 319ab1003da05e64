package provision

import (
	"fmt"
	"slices"

	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/appliance/store"
)

// Alerts returns the alerts not yet acknowledged.
func (c *Coordinator) Alerts() []appliance.Alert {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.alerts)
}

// AckAlerts acknowledges every alert (the LED stops showing error for
// them) and reports how many there were.
func (c *Coordinator) AckAlerts() (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.alerts)
	if n == 0 {
		return 0, nil
	}
	ev := event(appliance.MAC{}, appliance.EventAlert, fmt.Sprintf("%d alert(s) acknowledged", n))
	none := []appliance.Alert{}
	if err := c.commitLocked(store.Write{Alerts: &none, Events: []appliance.Event{ev}}); err != nil {
		return 0, err
	}
	c.alerts = nil
	c.log.Info("alerts acknowledged", "count", n)
	return n, nil
}
