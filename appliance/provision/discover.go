package provision

import (
	"fmt"

	"github.com/pnpbox/pnpbox/appliance"
)

// Offer hands a discovery to the coordinator without blocking; false
// means the queue is full (counted by the caller as a drop).
func (c *Coordinator) Offer(d appliance.Discovery) bool {
	select {
	case c.queue <- d:
		return true
	default:
		return false
	}
}

// discover applies one SUBSCRIBE: records the phone (once, however often
// it retries) and decides whether to NOTIFY it.
func (c *Coordinator) discover(d appliance.Discovery) {
	now := c.now().UTC()
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.admitLocked(d) {
		return
	}
	p := c.phones[d.MAC]
	c.watchRogueLocked(p, d, now)
	if p == nil {
		p = c.putPhoneLocked(c.newPhoneLocked(d.MAC, appliance.StateDiscovered, nil))
	}
	soon := false
	if !p.Seen() {
		p.FirstSeen = now
		soon = true
		c.log.Info("phone discovered", "mac", d.MAC.String(), "vendor", d.Vendor, "model", d.Model, "ip", d.Source.Addr().String())
		c.eventLocked(d.MAC, appliance.EventDiscovered, fmt.Sprintf("%s %s %s from %s", d.Vendor, d.Model, d.Firmware, d.Source.Addr()))
	}
	setStr := func(dst *string, v string) {
		if v != "" && *dst != v {
			*dst = v
			soon = true
		}
	}
	setStr(&p.Vendor, d.Vendor)
	if d.Model != "" && d.Model != p.Model {
		c.gen++ // the model decides what an assignment may hold
	}
	setStr(&p.Model, d.Model)
	setStr(&p.Firmware, d.Firmware)
	setStr(&p.UserAgent, d.UserAgent)
	target := d.Dialog.RemoteAddr
	if p.IP != target.Addr() || p.SIPPort != int(target.Port()) {
		if p.IP.IsValid() {
			c.eventLocked(d.MAC, appliance.EventState, fmt.Sprintf("address changed from %s to %s", p.IP, target.Addr()))
		}
		if p.IP != target.Addr() {
			c.displaceLocked(d.MAC, target.Addr(), now)
		}
		p.IP, p.SIPPort = target.Addr(), int(target.Port())
		c.noteAddrLocked(d.MAC, p.IP)
		soon = true
	}
	if p.Displaced != nil {
		p.Displaced = nil // it has announced itself again
		soon = true
	}
	p.Source, p.Interface, p.Multicast = d.Source, d.Interface, d.Multicast
	p.LastSeen = now
	if p.Dialog == nil || p.Dialog.CallID != d.Dialog.CallID {
		// A new SUBSCRIBE (not a retry of the last one) from a phone that
		// took its NOTIFY but fetched nothing: it ignored the URL.
		if hint := URLFormHint(p, c.urlFormLocked(p)); hint != "" && p.Dialog != nil {
			c.eventLocked(d.MAC, appliance.EventNotify, hint)
		}
		dlg := d.Dialog
		if p.Dialog != nil {
			dlg.LocalCSeq = p.Dialog.LocalCSeq
		}
		p.Dialog = &dlg
		soon = true
	}
	if soon {
		c.markSoon(d.MAC)
	} else {
		c.dirtyLazy[d.MAC] = true
	}

	if _, assigned := c.assignments[d.MAC]; !assigned || c.inflight[d.MAC] {
		return
	}
	switch {
	case p.State == appliance.StateFailed:
		// A failed NOTIFY is retried on the phone's next SUBSCRIBE, in
		// either mode: the phone is evidently listening again.
		c.startNotifyLocked(p, "retry after failure")
	case p.State == appliance.StateAssigned && c.settings.ProvisionMode == appliance.ModeAuto:
		c.startNotifyLocked(p, "auto mode")
	}
}
