package profile

import (
	"errors"
	"maps"
	"slices"
	"strings"

	"github.com/pnpbox/pnpbox/appliance"
)

// Check reports whether in can be rendered, with the error Render would
// give (a *appliance.FieldError naming the field), without writing the
// file. It is the renderer's own check, run at the door: the API, the CSV
// import and the settings call it before they store anything, and a
// phone whose config fails it is never sent a NOTIFY. Nothing reaches a
// config that this check has not seen.
//
// Beyond what Render refuses, Check refuses a config whose next stop the
// phone cannot reach (reach: P212/P237/P192).
func Check(in Input) error {
	c, err := build(in)
	if err != nil {
		return err
	}
	return c.reach(in)
}

// dryMAC is the placeholder phone CheckSite renders for: a Grandstream
// MAC that no real phone has (the OUI's first address).
var dryMAC = appliance.MAC{0x00, 0x0B, 0x82, 0x00, 0x00, 0x00}

// CheckSite checks that every site setting that reaches a config can be
// rendered, by rendering a placeholder phone with them: once with no
// model, and once for each model listed in site.ModelDefaults (each
// model's layer is only rendered for that model). The error is a
// *appliance.FieldError naming the settings field as the settings API
// names it ("timezone", "model_defaults.GXP2140.p_values.P30"), without
// the "settings." prefix the renderer gives it inside a phone's config.
//
// boxProtocols are the protocols the box serves configs over at the
// address P237 points to (Input.BoxProtocols; nil: HTTP).
func CheckSite(site appliance.PhoneSettings, boxProtocols []string) error {
	a := appliance.Assignment{Extension: "1", Password: "x"}
	models := append([]string{""}, slices.Sorted(maps.Keys(site.ModelDefaults))...)
	for _, model := range models {
		err := Check(Input{MAC: dryMAC, Model: model, Assignment: a, Site: site,
			ConfigServerPath: "198.18.0.1:80/p/0", AdminPassword: site.PhoneAdminPassword, BoxProtocols: boxProtocols})
		var fe *appliance.FieldError
		if errors.As(err, &fe) {
			return &appliance.FieldError{Field: strings.TrimPrefix(fe.Field, "settings."), Msg: fe.Msg}
		}
		if err != nil {
			return err
		}
	}
	return nil
}
