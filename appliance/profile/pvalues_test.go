package profile

import (
	"errors"
	"testing"

	"github.com/pnpbox/pnpbox/appliance"
)

// TestPValueSyntax: raw Grandstream values are checked here, for the site,
// its model layers and assignments alike (moved from the vendor-neutral
// appliance package, with the same fields named).
func TestPValueSyntax(t *testing.T) {
	site := func(ps appliance.PhoneSettings) error {
		s := appliance.DefaultSettings()
		s.PhoneSettings = ps
		s, err := s.Normalize()
		if err != nil {
			return err
		}
		return ValidateSettings(s.PhoneSettings)
	}
	assign := func(pv map[string]string) error {
		return Validate(appliance.Assignment{Extension: "201", PValues: pv}, "GXP2140")
	}
	for _, tc := range []struct {
		name  string
		err   error
		field string
	}{
		{"p_values name", site(appliance.PhoneSettings{PValues: map[string]string{"X1": "1"}}), "p_values"},
		{"p_values value", site(appliance.PhoneSettings{PValues: map[string]string{"P1": "a\x00"}}), "p_values.P1"},
		{"model p_values", site(appliance.PhoneSettings{ModelDefaults: map[string]appliance.ModelLayer{"gxp2140": {PValues: map[string]string{"P": "1"}}}}), "model_defaults.GXP2140.p_values"},
		{"assignment p-value name", assign(map[string]string{"X1": "v"}), "p_values"},
		{"assignment p-value value", assign(map[string]string{"P1": "a\x00"}), "p_values.P1"},
	} {
		var fe *appliance.FieldError
		if !errors.As(tc.err, &fe) || fe.Field != tc.field {
			t.Errorf("%s: error %v, want a field error on %s", tc.name, tc.err, tc.field)
		}
	}
	if err := site(appliance.PhoneSettings{PValues: map[string]string{"P1234": "v"}, ModelDefaults: map[string]appliance.ModelLayer{"GXP2160": {PValues: map[string]string{"P8345": "1"}}}}); err != nil {
		t.Errorf("good p_values refused: %v", err)
	}
}
