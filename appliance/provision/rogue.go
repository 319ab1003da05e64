package provision

import (
	"fmt"
	"net/netip"
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
	// AlertForeignResponder: another host sent a SIP response or a NOTIFY
	// to the PnP multicast group — something else on the LAN speaks
	// Plug-and-Play (or SIP) where the box's phones listen.
	AlertForeignResponder = "foreign_responder"
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
	// foreignPerHour caps foreign_responder alerts across all sources per
	// alertEvery: a host spoofing many source addresses gets this many
	// writes an hour, not one per address.
	foreignPerHour = 8
)

// rogueWatch is the in-memory state of the watch, guarded by the
// coordinator's mu.
type rogueWatch struct {
	boots   map[appliance.MAC][]time.Time // new SUBSCRIBEs of provisioned phones
	raised  map[string]time.Time          // "kind mac" or "kind ip" → last alert
	foreign []time.Time                   // foreign_responder alerts in the last alertEvery
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
	c.raiseKeyLocked(kind, kind+" "+m.String(), m, now, msg)
}

// ForeignResponder raises AlertForeignResponder (with an event) for what
// ("response" or "NOTIFY") that src, not one of the box's addresses, sent
// to the SIP multicast group: at most once per source address per hour and
// foreignPerHour times an hour in all, so it never costs a write per
// packet. pnp's read loop calls it (pnp.Server.SetOnForeign), at most once
// per source a minute; it does not block beyond one store write.
func (c *Coordinator) ForeignResponder(src netip.AddrPort, what string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	w := &c.rogue
	key := AlertForeignResponder + " " + src.Addr().String()
	if last, ok := w.raised[key]; ok && now.Sub(last) < alertEvery {
		return
	}
	w.foreign = slices.DeleteFunc(w.foreign, func(t time.Time) bool { return now.Sub(t) >= alertEvery })
	if len(w.foreign) >= foreignPerHour {
		return
	}
	w.foreign = append(w.foreign, now)
	c.raiseKeyLocked(AlertForeignResponder, key, appliance.MAC{}, now, fmt.Sprintf(
		"host %s sent a SIP %s to the Plug-and-Play multicast group: another SIP or Plug-and-Play responder is on the LAN, and phones take the first answer they get",
		src, what))
}

// raiseKeyLocked is raiseLocked with the rate-limit key given; m may be
// the zero MAC (an alert about a host, not a phone).
func (c *Coordinator) raiseKeyLocked(kind, key string, m appliance.MAC, now time.Time, msg string) {
	w := &c.rogue
	if w.raised == nil {
		w.raised = map[string]time.Time{}
	}
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
		c.log.Error("alert not recorded", "kind", kind, "key", key, "err", err)
		return
	}
	c.alerts = alerts
	c.log.Warn("alert", "kind", kind, "key", key, "msg", msg)
}
