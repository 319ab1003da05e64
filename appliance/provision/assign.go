package provision

import (
	"encoding/json"

	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/appliance/store"
)

// Assign stores a (validated and normalized here) for phone m, seen or
// not. An empty password keeps the current one, so an installer can fix a
// display name without retyping the secret. Changing an assignment makes
// the phone pending again; in auto mode a seen phone is notified at once.
func (c *Coordinator) Assign(m appliance.MAC, a appliance.Assignment) (appliance.Assignment, error) {
	a, err := a.Normalize()
	if err != nil {
		return a, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if appliance.MatchMAC(c.settings.DenyMACs, m) {
		return a, ErrDenied
	}
	old, had := c.assignments[m]
	if a.Password == "" && had {
		a.Password = old.Password
	}
	if a.Password == "" {
		return a, &appliance.FieldError{Field: "password", Msg: "required"}
	}
	p := c.phones[m]
	check := p
	if check == nil {
		check = &appliance.Phone{MAC: m}
	}
	// The renderer's own check: what it could not write is refused here.
	if err := CheckRender(check, a, c.settings); err != nil {
		return a, err
	}
	if had && equalAssignments(old, a) {
		return a, nil
	}
	np, evs := c.assignedPhoneLocked(m, "extension "+a.Extension, nil)
	if err := c.commitLocked(store.Write{Phones: []appliance.Phone{np}, Assignments: map[appliance.MAC]appliance.Assignment{m: a}, Events: evs}); err != nil {
		return a, err
	}
	c.setAssignmentLocked(m, a)
	c.rememberCheckLocked(check, a, nil) // the door's check above, same inputs
	p = c.putPhoneLocked(np)
	c.log.Info("assigned", "mac", m.String(), "extension", a.Extension, "state", string(np.State))
	if c.settings.ProvisionMode == appliance.ModeAuto && c.canNotifyLocked(p) == nil {
		c.startNotifyLocked(p, "auto mode")
	}
	return a, nil
}

func equalAssignments(a, b appliance.Assignment) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// Unassign removes m's assignment. A phone that was only pre-staged is
// forgotten entirely; a seen phone goes back to discovered.
func (c *Coordinator) Unassign(m appliance.MAC) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.assignments[m]; !ok {
		return ErrNotFound
	}
	p := c.phones[m]
	w := store.Write{DeleteAssignments: []appliance.MAC{m}}
	var np appliance.Phone
	forget := p == nil || !p.Seen()
	if forget {
		if p != nil {
			w.DeletePhones = []appliance.MAC{m}
		}
	} else {
		np = *p
		np.State, _ = Next(np.State, TrigUnassign)
		w.Phones = []appliance.Phone{np}
	}
	w.Events = []appliance.Event{event(m, appliance.EventUnassigned, "")}
	if !forget {
		if ev, moved := stateChange(m, p.State, np.State); moved {
			w.Events = append(w.Events, ev)
		}
	}
	if err := c.commitLocked(w); err != nil {
		return err
	}
	c.deleteAssignmentLocked(m)
	if forget {
		c.forgetPhoneLocked(m)
	} else {
		c.putPhoneLocked(np)
	}
	c.log.Info("unassigned", "mac", m.String())
	return nil
}

// assignedPhoneLocked is m's record once it has an assignment (a new,
// pre-staged one if the box does not know m; reserved as for
// newPhoneLocked) and the events that say so: assigned with detail, and
// the state change if there is one. Nothing is stored yet.
func (c *Coordinator) assignedPhoneLocked(m appliance.MAC, detail string, reserved map[string]bool) (appliance.Phone, []appliance.Event) {
	evs := []appliance.Event{event(m, appliance.EventAssigned, detail)}
	p := c.phones[m]
	if p == nil {
		return c.newPhoneLocked(m, appliance.StateAssigned, reserved), evs
	}
	np := *p
	np.State, _ = Next(np.State, TrigAssign)
	if ev, moved := stateChange(m, p.State, np.State); moved {
		evs = append(evs, ev)
	}
	return np, evs
}

// setAssignmentLocked and deleteAssignmentLocked change the in-memory
// assignments (after the store has them), drop the phone's last render
// check (rendercheck.go) and bump gen, which tells work planned outside
// the lock that the assignments changed under it.
func (c *Coordinator) setAssignmentLocked(m appliance.MAC, a appliance.Assignment) {
	c.assignments[m] = a
	delete(c.checks, m)
	c.gen++
}

func (c *Coordinator) deleteAssignmentLocked(m appliance.MAC) {
	delete(c.assignments, m)
	delete(c.checks, m)
	c.gen++
}
