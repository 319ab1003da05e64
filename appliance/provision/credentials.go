package provision

import (
	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/appliance/store"
)

// HasAdmin reports whether an admin password has been set.
func (c *Coordinator) HasAdmin() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.admin != nil
}

// CheckAdmin reports whether pw is the admin password (constant time; slow
// by design: PBKDF2, so callers cache successes).
func (c *Coordinator) CheckAdmin(pw string) bool {
	c.mu.Lock()
	cred := c.admin
	c.mu.Unlock()
	return cred.Verify(pw)
}

// SetAdminPassword stores a new admin password (hashed). At least 8
// characters.
func (c *Coordinator) SetAdminPassword(pw string) error {
	if len(pw) < 8 {
		return &appliance.FieldError{Field: "password", Msg: "at least 8 characters"}
	}
	if len(pw) > 128 {
		return &appliance.FieldError{Field: "password", Msg: "at most 128 characters"}
	}
	if c.CheckAdmin(pw) {
		return nil // unchanged: no write on every restart with -admin-password
	}
	cred, err := store.NewCredential(pw)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ev := event(appliance.MAC{}, appliance.EventSettings, "admin password set")
	if err := c.commitLocked(store.Write{Admin: cred, Events: []appliance.Event{ev}}); err != nil {
		return err
	}
	c.admin = cred
	return nil
}
