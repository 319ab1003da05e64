package provision

import (
	"fmt"
	"slices"
	"time"

	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/appliance/store"
)

// Alert kinds raised when another responder may be answering the box's
// phones (SECURITY.md, "Another responder on the LAN"). Phones take the
// first answer they get, so the box cannot prevent this; it can notice
// the traces it leaves.
const (
	// AlertRogueResponder: a phone answered the box's NOTIFY, then booted
	// again without downloading its config — it may have taken a config
	// from someone else.
	AlertRogueResponder = "rogue_responder"
	// AlertPnPAgain: a provisioned phone keeps sending Plug-and-Play
	// SUBSCRIBEs (its PnP is back on: reset, or someone else's config), or
	// someone sends them in its name.
	AlertPnPAgain = "pnp_again"
)

// Thresholds of the rogue watch.
const (
	// rogueGrace is how long after an answered NOTIFY a new SUBSCRIBE is
	// still the phone's own (its retries cross the NOTIFY), not a reboot.
	rogueGrace = time.Minute
	// pnpAgainWindow and pnpAgainCount: this many new PnP SUBSCRIBEs (new
	// Call-IDs, i.e. boots) from a provisioned phone within the window
	// raise AlertPnPAgain; one a boot is normal with keep_pnp on.
	pnpAgainWindow = 10 * time.Minute
	pnpAgainCount  = 3
	// alertEvery bounds alerts to one per phone and kind per period, so a
	// host spoofing SUBSCRIBEs cannot turn the watch into a write flood.
	alertEvery = time.Hour
)

// rogueWatch is the in-memory state of the watch, guarded by the
// coordinator's mu.
type rogueWatch struct {
	boots  map[appliance.MAC][]time.Time // new SUBSCRIBEs of provisioned phones
	raised map[string]time.Time          // "kind mac" → last alert
}

// watchRogueLocked looks at a SUBSCRIBE d for phone p before discover
// updates p, and raises an alert (with an event) for the traces another
// responder leaves. A retransmission (same Call-ID) never counts.
func (c *Coordinator) watchRogueLocked(p *appliance.Phone, d appliance.Discovery, now time.Time) {
	if p == nil || p.Dialog == nil || p.Dialog.CallID == d.Dialog.CallID {
		return
	}
	w := &c.rogue
	switch p.State {
	case appliance.StateNotified:
		if !p.NotifiedAt.IsZero() && now.Sub(p.NotifiedAt) > rogueGrace {
			c.raiseLocked(AlertRogueResponder, p.MAC, now, fmt.Sprintf(
				"phone %s answered the NOTIFY at %s but announced itself again from %s without downloading its config: another Plug-and-Play responder on the LAN may have configured it",
				p.MAC, p.NotifiedAt.Format(time.RFC3339), d.Source.Addr()))
		}
	case appliance.StateProvisioned:
		if w.boots == nil {
			w.boots = map[appliance.MAC][]time.Time{}
		}
		b := slices.DeleteFunc(append(w.boots[p.MAC], now), func(t time.Time) bool { return now.Sub(t) > pnpAgainWindow })
		if len(w.boots) > 4096 { // bounded: the spoofed-MAC case
			clear(w.boots)
		}
		w.boots[p.MAC] = b
		if len(b) >= pnpAgainCount {
			c.raiseLocked(AlertPnPAgain, p.MAC, now, fmt.Sprintf(
				"provisioned phone %s sent %d Plug-and-Play SUBSCRIBEs from %s within %v: its Plug-and-Play is on again (reset, or a config from another responder), or another host sends them in its name",
				p.MAC, len(b), d.Source.Addr(), pnpAgainWindow))
		}
	}
}

// raiseLocked records an alert (the LED shows error until acknowledged)
// and its event, at most once per phone and kind per alertEvery.
func (c *Coordinator) raiseLocked(kind string, m appliance.MAC, now time.Time, msg string) {
	w := &c.rogue
	if w.raised == nil {
		w.raised = map[string]time.Time{}
	}
	key := kind + " " + m.String()
	if last, ok := w.raised[key]; ok && now.Sub(last) < alertEvery {
		return
	}
	if len(w.raised) > 4096 {
		clear(w.raised)
	}
	w.raised[key] = now
	alerts := append(slices.Clone(c.alerts), appliance.Alert{Time: now, Kind: kind, Message: msg})
	ev := event(m, appliance.EventAlert, msg)
	if err := c.commitLocked(store.Write{Alerts: &alerts, Events: []appliance.Event{ev}}); err != nil {
		c.log.Error("alert not recorded", "kind", kind, "mac", m.String(), "err", err)
		return
	}
	c.alerts = alerts
	c.log.Warn("alert", "kind", kind, "mac", m.String(), "msg", msg)
}
