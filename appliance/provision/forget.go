package provision

import (
	"fmt"

	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/appliance/store"
)

// Forget removes everything the box knows of phone m: its record, its
// provisioning token (its config URL stops working at once) and its
// assignment, with a "forgotten" note in the event log (its older events
// stay). The write is synchronous: when Forget returns nil the removal is
// on disk. A phone that announces itself again afterwards is discovered
// anew, with a new token. Errors: ErrNotFound when the box knows no phone
// m, ErrBusy while a NOTIFY to it is unanswered (forgetting then would
// lose the answer), and a wrapped ErrStorage when the write fails (then
// nothing changed).
func (c *Coordinator) Forget(m appliance.MAC) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.phones[m]
	if p == nil {
		return ErrNotFound
	}
	if c.inflight[m] {
		return ErrBusy
	}
	w := store.Write{DeletePhones: []appliance.MAC{m}}
	detail := "the box forgot this phone"
	if a, ok := c.assignments[m]; ok {
		w.DeleteAssignments = []appliance.MAC{m}
		detail += fmt.Sprintf(" and its assignment (extension %s)", a.Extension)
	}
	w.Events = []appliance.Event{event(m, appliance.EventUnassigned, detail+"; it is discovered anew when it announces itself again")}
	if err := c.commitLocked(w); err != nil {
		return err
	}
	if _, ok := c.assignments[m]; ok {
		c.deleteAssignmentLocked(m)
	}
	c.forgetPhoneLocked(m)
	// A queued write of the record would only be skipped (flushLocked
	// writes phones it still has); drop the marks so none is attempted.
	delete(c.dirtySoon, m)
	delete(c.dirtyLazy, m)
	c.log.Info("phone forgotten", "mac", m.String())
	return nil
}
