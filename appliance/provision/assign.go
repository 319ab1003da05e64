package provision

import (
	"encoding/json"
	"fmt"

	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/appliance/profile"
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
	model := a.Model
	if p != nil && p.Model != "" {
		model = p.Model
	}
	if err := profile.Validate(a, model); err != nil {
		return a, err
	}
	if had && equalAssignments(old, a) {
		return a, nil
	}
	var np appliance.Phone
	if p == nil {
		np = appliance.Phone{MAC: m, State: appliance.StateAssigned, Token: c.uniqueToken(), AdminPassword: profile.GeneratePassword()}
	} else {
		np = *p
		np.State, _ = Next(np.State, TrigAssign)
	}
	evs := []appliance.Event{c.newEventLocked(m, appliance.EventAssigned, "extension "+a.Extension)}
	if p != nil && np.State != p.State {
		evs = append(evs, c.newEventLocked(m, appliance.EventState, fmt.Sprintf("%s → %s", p.State, np.State)))
	}
	seq := c.eventSeq
	if err := c.commitLocked(store.Write{Phones: []appliance.Phone{np}, Assignments: map[appliance.MAC]appliance.Assignment{m: a}, Events: evs}); err != nil {
		c.eventSeq = seq - uint64(len(evs))
		return a, err
	}
	c.assignments[m] = a
	if p == nil {
		c.phones[m] = &np
		c.tokens[np.Token] = m
	} else {
		*p = np
	}
	c.log.Info("assigned", "mac", m.String(), "extension", a.Extension, "state", string(np.State))
	if c.settings.ProvisionMode == appliance.ModeAuto && c.canNotifyLocked(c.phones[m]) == nil {
		c.startNotifyLocked(c.phones[m], "auto mode")
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
	w.Events = []appliance.Event{c.newEventLocked(m, appliance.EventUnassigned, "")}
	if !forget && np.State != p.State {
		w.Events = append(w.Events, c.newEventLocked(m, appliance.EventState, fmt.Sprintf("%s → %s", p.State, np.State)))
	}
	seq := c.eventSeq
	if err := c.commitLocked(w); err != nil {
		c.eventSeq = seq - uint64(len(w.Events))
		return err
	}
	delete(c.assignments, m)
	if forget {
		if p != nil {
			delete(c.tokens, p.Token)
			delete(c.phones, m)
		}
	} else {
		*p = np
	}
	c.log.Info("unassigned", "mac", m.String())
	return nil
}
