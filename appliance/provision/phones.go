package provision

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"

	"github.com/pnpbox/pnpbox/appliance"
)

// phoneAdminPasswordLen is the length of a phone's own generated web
// admin password (about 115 bits).
const phoneAdminPasswordLen = 20

// newPhoneLocked is the one way a phone record is made: state, a token no
// other phone holds (nor one in reserved: tokens handed out in the same
// batch, not yet in c.tokens) and its own admin password from NewPassword.
// It is not stored anywhere yet: putPhoneLocked does that.
func (c *Coordinator) newPhoneLocked(m appliance.MAC, state appliance.State, reserved map[string]bool) appliance.Phone {
	tok := c.uniqueToken()
	for reserved[tok] {
		tok = c.uniqueToken()
	}
	if reserved != nil {
		reserved[tok] = true
	}
	return appliance.Phone{MAC: m, State: state, Token: tok, AdminPassword: c.cfg.NewPassword(phoneAdminPasswordLen)}
}

// putPhoneLocked makes np the in-memory record of its MAC, new or
// replacing the old one (the pointer handed out stays valid), and keeps the
// token index and the per-state counts in step. Every change of a phone's
// state goes through here or through transitionLocked.
func (c *Coordinator) putPhoneLocked(np appliance.Phone) *appliance.Phone {
	p := c.phones[np.MAC]
	if p == nil {
		p = new(appliance.Phone)
		c.phones[np.MAC] = p
	} else {
		c.counts[p.State]--
		if p.Token != np.Token {
			delete(c.tokens, p.Token)
		}
	}
	*p = np
	c.indexPhoneLocked(p)
	return p
}

// indexPhoneLocked counts p in its state and enters it in the token and
// address indexes: what every phone record placed in c.phones needs
// (putPhoneLocked, loadLocked).
func (c *Coordinator) indexPhoneLocked(p *appliance.Phone) {
	c.counts[p.State]++
	c.tokens[p.Token] = p.MAC
	c.noteAddrLocked(p.MAC, p.IP)
}

// forgetPhoneLocked removes m's record, its token and its count.
func (c *Coordinator) forgetPhoneLocked(m appliance.MAC) {
	if p := c.phones[m]; p != nil {
		c.counts[p.State]--
		delete(c.tokens, p.Token)
		delete(c.phones, m)
		c.configs.forget(m)
	}
}

// stateChange is the event recording that a phone moved from one state to
// another, and false when it did not move.
func stateChange(m appliance.MAC, from, to appliance.State) (appliance.Event, bool) {
	if from == to {
		return appliance.Event{}, false
	}
	return appliance.Event{MAC: m, Kind: appliance.EventState, Detail: fmt.Sprintf("%s → %s", from, to)}, true
}

// transitionLocked moves p by trig, logging and queueing the state-change
// event; ok is false when the trigger does not apply in p's state.
func (c *Coordinator) transitionLocked(p *appliance.Phone, trig Trigger) bool {
	next, ok := Next(p.State, trig)
	if !ok {
		return false
	}
	if ev, moved := stateChange(p.MAC, p.State, next); moved {
		c.log.Info("phone state", "mac", p.MAC.String(), "state", string(next), "was", string(p.State))
		c.eventLocked(ev.MAC, ev.Kind, ev.Detail)
		c.counts[p.State]--
		c.counts[next]++
		p.State = next
	}
	return true
}

// sortedMACsLocked returns the known phones' MACs in the order of their
// strings (MAC.String). Upper-case hex keeps the order of the bytes it
// spells ('0'–'9' sort before 'A'–'F'), so the bytes are compared: no
// string per comparison, which made this most of a press's time.
func (c *Coordinator) sortedMACsLocked() []appliance.MAC {
	ms := make([]appliance.MAC, 0, len(c.phones))
	for m := range c.phones {
		ms = append(ms, m)
	}
	slices.SortFunc(ms, func(a, b appliance.MAC) int { return bytes.Compare(a[:], b[:]) })
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

// MACs returns the MACs of every phone the box knows, in the order of
// Phones. With Entries it lists the phones a part at a time, so a list
// of thousands never has to be copied whole (the API's phone list).
func (c *Coordinator) MACs() []appliance.MAC {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sortedMACsLocked()
}

// Entries returns the phones of ms, in that order, leaving out any the box
// no longer knows.
func (c *Coordinator) Entries(ms []appliance.MAC) []Entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Entry, 0, len(ms))
	for _, m := range ms {
		if p := c.phones[m]; p != nil {
			out = append(out, c.entryLocked(p))
		}
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
	if l, ok := c.cfg.Notifier.(FirstAddresser); ok {
		return l.FirstAddr()
	}
	return netip.Addr{}
}
