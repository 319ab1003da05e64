package provision

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/appliance/store"
)

// Masked stands in for a secret in what the API returns.
const Masked = "********"

// Settings returns the site settings.
func (c *Coordinator) Settings() appliance.Settings {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.settings
}

// UpdateSettings merges the JSON object patch into the settings (fields
// absent keep their value; unknown fields are an error), validates and
// stores them. Switching to auto mode provisions pending phones that have
// announced themselves, as auto mode would have done.
func (c *Coordinator) UpdateSettings(patch []byte) (appliance.Settings, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	next := c.settings
	dec := json.NewDecoder(strings.NewReader(string(patch)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&next); err != nil {
		return c.settings, &appliance.FieldError{Field: "settings", Msg: jsonMsg(err)}
	}
	if next.PhoneAdminPassword == Masked {
		// GET shows the secret masked; a client that PUTs back what it
		// read must not set the password to the mask.
		next.PhoneAdminPassword = c.settings.PhoneAdminPassword
	}
	next, err := next.Normalize()
	if err != nil {
		return c.settings, err
	}
	ev := event(appliance.MAC{}, appliance.EventSettings, "settings changed")
	if err := c.commitLocked(store.Write{Settings: &next, Events: []appliance.Event{ev}}); err != nil {
		return c.settings, err
	}
	wasAuto := c.settings.ProvisionMode == appliance.ModeAuto
	c.settings = next
	c.gen++
	now := c.now()
	if !wasAuto && next.ProvisionMode == appliance.ModeAuto {
		for _, m := range c.sortedMACsLocked() {
			p := c.phones[m]
			if _, assigned := c.assignments[m]; IsPending(p, assigned, now) && c.canNotifyLocked(p) == nil {
				c.startNotifyLocked(p, "auto mode switched on")
			}
		}
	}
	return next, nil
}

func jsonMsg(err error) string {
	var ute *json.UnmarshalTypeError
	if errors.As(err, &ute) {
		return fmt.Sprintf("%s: want %s", ute.Field, ute.Type)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}
