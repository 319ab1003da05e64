package provision

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/pnpbox/pnpbox/appliance"
)

// transitionLocked moves p by trig, logging and recording a change.
func (c *Coordinator) transitionLocked(p *appliance.Phone, trig Trigger) bool {
	next, ok := Next(p.State, trig)
	if !ok {
		return false
	}
	if next != p.State {
		c.log.Info("phone state", "mac", p.MAC.String(), "state", string(next), "was", string(p.State))
		c.eventLocked(p.MAC, appliance.EventState, fmt.Sprintf("%s → %s", p.State, next))
		p.State = next
	}
	return true
}

func (c *Coordinator) sortedMACsLocked() []appliance.MAC {
	ms := make([]appliance.MAC, 0, len(c.phones))
	for m := range c.phones {
		ms = append(ms, m)
	}
	slices.SortFunc(ms, func(a, b appliance.MAC) int { return strings.Compare(a.String(), b.String()) })
	return ms
}

// Entry is one phone as the API and status page see it: copies, safe to
// keep. ConfigURL holds the phone's token: admin-only.
type Entry struct {
	Phone      appliance.Phone
	Assignment *appliance.Assignment
	ConfigURL  string
	InFlight   bool
}

// Phones returns every phone the box knows, seen or pre-staged, by MAC.
func (c *Coordinator) Phones() []Entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Entry, 0, len(c.phones))
	for _, m := range c.sortedMACsLocked() {
		out = append(out, c.entryLocked(c.phones[m]))
	}
	return out
}

// Phone returns one phone.
func (c *Coordinator) Phone(m appliance.MAC) (Entry, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.phones[m]
	if p == nil {
		return Entry{}, ErrNotFound
	}
	return c.entryLocked(p), nil
}

func (c *Coordinator) entryLocked(p *appliance.Phone) Entry {
	e := Entry{Phone: *p, InFlight: c.inflight[p.MAC]}
	if p.Dialog != nil {
		d := *p.Dialog
		e.Phone.Dialog = &d
	}
	if a, ok := c.assignments[p.MAC]; ok {
		e.Assignment = &a
	}
	var local netip.Addr
	if p.IP.IsValid() {
		local, _, _ = c.cfg.Notifier.LocalAddrFor(p.IP)
	}
	if !local.IsValid() {
		local = c.anyLocalAddrLocked()
	}
	if local.IsValid() {
		e.ConfigURL = c.configURLLocked(p, local)
	}
	return e
}

// anyLocalAddrLocked is the box address for phones not seen yet.
func (c *Coordinator) anyLocalAddrLocked() netip.Addr {
	if l, ok := c.cfg.Notifier.(interface{ FirstAddr() netip.Addr }); ok {
		return l.FirstAddr()
	}
	return netip.Addr{}
}
