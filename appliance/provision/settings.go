package provision

import (
	"errors"
	"fmt"
	"strings"

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
	// The renderer's own check on every site value that reaches a config.
	if err := profile.CheckSite(next.PhoneSettings, BoxConfigProtocols()); err != nil {
		return c.settings, err
	}
	checked, err := c.checkAssignmentsLocked(next)
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
	c.checks = nil // checked under the old settings; checked holds the new answers
	for _, v := range checked {
		c.rememberCheckLocked(v.p, c.assignments[v.p.MAC], v.err)
	}
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

// BoxConfigProtocols are the protocols phones can fetch their config from
// this box over, at the address the config server path (P237) points to:
// plain HTTP, and HTTPS on the box's own certificate (configServerLocked
// puts the HTTPS listener's port into P237 when the site's
// config_protocol is https). Whether the HTTPS listener is actually open
// is ValidateEndpoint's check when the settings change; the renderer's
// reach check (profile.Check) refuses every other protocol to the box.
func BoxConfigProtocols() []string {
	return []string{appliance.ProtocolHTTP, appliance.ProtocolHTTPS}
}

// checkAssignmentsLocked runs the renderer's check (CheckRender) on every
// assigned phone under the settings next: a settings change that leaves
// some phone with a config it could not render or follow (say
// config_server_path cleared while an assignment's p_values set P212 to
// TFTP) is refused, naming the phone. A phone that fails the check
// under the current settings too does not block the change. The error is a
// *appliance.FieldError on the setting when the failing value comes from
// the settings, else on "settings" with the phone's field in the message.
//
// It returns every phone's answer under next (p is a stand-in for a phone
// not seen yet), for the coordinator to remember once next is in force.
func (c *Coordinator) checkAssignmentsLocked(next appliance.Settings) ([]checked, error) {
	var out []checked
	for _, m := range c.sortedMACsLocked() {
		a, ok := c.assignments[m]
		if !ok {
			continue
		}
		p := c.phones[m]
		if p == nil {
			p = &appliance.Phone{MAC: m}
		}
		err := CheckRender(p, a, next)
		out = append(out, checked{p, err})
		if err == nil || CheckRender(p, a, c.settings) != nil {
			// Fine, or already failing before this change (an old
			// database): MayNotify keeps that phone from being notified,
			// and it must not block every settings change.
			continue
		}
		var fe *appliance.FieldError
		if !errors.As(err, &fe) {
			return nil, err
		}
		if f, fromSite := strings.CutPrefix(fe.Field, "settings."); fromSite {
			return nil, &appliance.FieldError{Field: f, Msg: fmt.Sprintf("phone %s (extension %s) could not be provisioned: %s", m, a.Extension, fe.Msg)}
		}
		return nil, &appliance.FieldError{Field: "settings", Msg: fmt.Sprintf("phone %s (extension %s) could not be provisioned with these settings: its %s: %s", m, a.Extension, fe.Field, fe.Msg)}
	}
	return out, nil
}

// checked is one phone's render check (p may be a stand-in for a phone
// not seen yet).
type checked struct {
	p   *appliance.Phone
	err error
}
