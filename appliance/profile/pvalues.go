package profile

import (
	"fmt"
	"maps"
	"slices"
	"unicode"
	"unicode/utf8"

	"github.com/pnpbox/pnpbox/appliance"
)

// ValidatePValues checks the syntax of raw Grandstream overrides: names
// are P followed by digits, values at most 256 characters of text.
func ValidatePValues(field string, pv map[string]string) error {
	for k, v := range pv {
		if len(k) < 2 || len(k) > 6 || k[0] != 'P' {
			return fieldErr(field, "%q is not a P-value name (P followed by digits)", k)
		}
		for i := 1; i < len(k); i++ {
			if k[i] < '0' || k[i] > '9' {
				return fieldErr(field, "%q is not a P-value name (P followed by digits)", k)
			}
		}
		if utf8.RuneCountInString(v) > 256 {
			return fieldErr(field+"."+k, "at most 256 characters")
		}
		if !utf8.ValidString(v) {
			return fieldErr(field+"."+k, "not valid UTF-8")
		}
		for _, r := range v {
			if unicode.IsControl(r) && r != '\t' {
				return fieldErr(field+"."+k, "control characters are not allowed")
			}
		}
	}
	return nil
}

// ValidateSettings checks what appliance.Settings.Normalize leaves to the
// vendor: the syntax of the site's raw p_values and of each model layer's.
// s is normalized already (model names in upper case). Errors are
// *appliance.FieldError naming the field.
func ValidateSettings(s appliance.PhoneSettings) error {
	if err := ValidatePValues("p_values", s.PValues); err != nil {
		return err
	}
	for _, model := range slices.Sorted(maps.Keys(s.ModelDefaults)) {
		if err := ValidatePValues(fmt.Sprintf("model_defaults.%s.p_values", model), s.ModelDefaults[model].PValues); err != nil {
			return err
		}
	}
	return nil
}
