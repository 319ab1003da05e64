package provision

import (
	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/appliance/profile"
	"github.com/pnpbox/pnpbox/appliance/store"
)

// Settings returns a copy of the site settings (the caller may change it).
func (c *Coordinator) Settings() appliance.Settings {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.settings.Clone()
}

// UpdateSettings applies edit to a copy of the settings (its own maps and
// slices: edit may change them in place) under the coordinator's lock,
// then validates, normalizes and stores the result; an error from edit or
// from validation (a *appliance.FieldError) changes nothing. Switching to
// auto mode provisions pending phones that have announced themselves, as
// auto mode would have done. It returns the settings in force afterwards.
func (c *Coordinator) UpdateSettings(edit func(appliance.Settings) (appliance.Settings, error)) (appliance.Settings, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	next, err := edit(c.settings.Clone())
	if err != nil {
		return c.settings, err
	}
	next, err = next.Normalize()
	if err != nil {
		return c.settings, err
	}
	if err := profile.ValidateSettings(next.PhoneSettings); err != nil {
		return c.settings, err
	}
	if err := ValidateEndpoint(next.PhoneSettings, c.httpsPort); err != nil {
		return c.settings, err
	}
	ev := event(appliance.MAC{}, appliance.EventSettings, "settings changed")
	if err := c.commitLocked(store.Write{Settings: &next, Events: []appliance.Event{ev}}); err != nil {
		return c.settings, err
	}
	wasAuto := c.settings.ProvisionMode == appliance.ModeAuto
	c.settings = next
	c.gen++
	if !wasAuto && next.ProvisionMode == appliance.ModeAuto {
		now := c.now()
		for _, m := range c.sortedMACsLocked() {
			p := c.phones[m]
			if _, assigned := c.assignments[m]; IsPending(p, assigned, now) && c.canNotifyLocked(p) == nil {
				c.startNotifyLocked(p, "auto mode switched on")
			}
		}
	}
	return next, nil
}
