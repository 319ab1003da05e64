package provision

import (
	"github.com/pnpbox/pnpbox/appliance"
)

// Summary is what a "provision all pending" did.
type Summary struct {
	Sent    []appliance.MAC `json:"sent"`
	Skipped []Skip          `json:"skipped"`
	// Pooled are the phones this press gave a pool extension (and then
	// sent their NOTIFY, listed in Sent).
	Pooled []Grant `json:"pooled"`
}

// Grant is one extension handed out by the pool.
type Grant struct {
	MAC       appliance.MAC `json:"mac"`
	Extension string        `json:"extension"`
}

// Skip is a pending phone that was not sent a NOTIFY, and why.
type Skip struct {
	MAC    appliance.MAC `json:"mac"`
	Reason string        `json:"reason"`
}

// ProvisionAll is the button: first, when an extension pool is set,
// discovered phones without an assignment are given the next free pool
// extensions and generated passwords (committed before any NOTIFY, so a
// press that reports them has made them durable); then every pending phone
// that has announced itself is sent its NOTIFY. Pending = assigned or
// failed, or notified longer than five minutes ago without fetching its
// config. Phones that have not been seen yet are listed as skipped; they
// are provisioned on a later press once they announce themselves (or at
// once in auto mode). The error is a failure to store pool assignments:
// the phones that already had one are still sent their NOTIFY.
func (c *Coordinator) ProvisionAll() (Summary, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sum := Summary{Sent: []appliance.MAC{}, Skipped: []Skip{}, Pooled: []Grant{}}
	noted, poolErr := c.grantPoolLocked(&sum)
	now := c.now()
	macs := c.sortedMACsLocked()
	c.checkPendingLocked(macs, now)
	for _, m := range macs {
		p := c.phones[m]
		if _, assigned := c.assignments[m]; !IsPending(p, assigned, now) {
			continue
		}
		if err := c.canNotifyLocked(p); err != nil {
			sum.Skipped = append(sum.Skipped, Skip{MAC: m, Reason: err.Error()})
			continue
		}
		if hint := URLFormHint(p, c.urlFormLocked(p)); hint != "" { // notified long ago, nothing fetched
			c.eventLocked(m, appliance.EventNotify, hint)
		}
		c.startNotifyLocked(p, "provision all pending")
		sum.Sent = append(sum.Sent, m)
	}
	// Whoever pressed (button, signal, page, API), every phone left out is
	// told in the history, with why: the press's answer may go nowhere.
	for _, sk := range sum.Skipped {
		if !noted[sk.MAC] {
			c.eventLocked(sk.MAC, appliance.EventNotify, "not sent: "+sk.Reason)
		}
	}
	c.log.Info("provision all pending", "sent", len(sum.Sent), "skipped", len(sum.Skipped), "pooled", len(sum.Pooled))
	return sum, poolErr
}

// Provision sends one phone its NOTIFY now, whatever its state (to
// re-provision a phone that is already configured, for example).
func (c *Coordinator) Provision(m appliance.MAC) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.phones[m]
	if p == nil {
		return ErrNotFound
	}
	if err := c.canNotifyLocked(p); err != nil {
		return err
	}
	c.startNotifyLocked(p, "requested")
	return nil
}
