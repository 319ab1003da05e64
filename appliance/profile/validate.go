package profile

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pnpbox/pnpbox/appliance"
)

// Validate checks what appliance.Assignment.Normalize cannot, because it
// depends on the phone model: how many accounts and keys fit, the key types
// and which account each key uses. model is the model the phone reported
// ("" if none yet; then a.Model, else the GXP2130). It returns a
// *appliance.FieldError naming the field.
func Validate(a appliance.Assignment, model string) error {
	m, known, _ := resolveModel(model, a)
	return validate(a, m, known)
}

func validate(a appliance.Assignment, m Model, known bool) error {
	what := m.Name
	if !known {
		what = fmt.Sprintf("the phone's model is not known (set \"model\"), so it is treated as a %s, which", m.Name)
	}
	if extra := m.Accounts - 1; len(a.Accounts) > extra {
		return fieldErr("accounts", "%s has %d accounts; at most %d extra, have %d", what, m.Accounts, extra, len(a.Accounts))
	}
	if _, err := appliance.NormalizeCodecs("codecs", a.Codecs); err != nil {
		return err
	}
	slots := m.slots()
	if len(a.Keys) > len(slots) {
		return fieldErr("keys", "%s holds %d keys (%s); have %d", what, len(slots), layout(m), len(a.Keys))
	}
	for i, k := range a.Keys {
		if err := validateKey(i, k, slots[i], m); err != nil {
			return err
		}
	}
	return checkPValueNames("p_values", a.PValues)
}

// layout describes where a model's keys go, for error messages.
func layout(m Model) string {
	vpks := fmt.Sprintf("%d on-screen VPKs after the %d line keys", m.VPKs-m.LineVPKs, m.LineVPKs)
	if m.MPKs == 0 {
		return vpks
	}
	return fmt.Sprintf("%d physical MPKs, then %s", m.MPKs, vpks)
}

func validateKey(i int, k appliance.Key, s slot, m Model) error {
	f := fmt.Sprintf("keys[%d].", i)
	mode, ok := lookupKeyMode(k.Type)
	if !ok {
		return fieldErr(f+"type", "unknown key type %q (known: %s)", k.Type, strings.Join(KeyTypes(), ", "))
	}
	if mode.vpkOnly && !s.vpk {
		return fieldErr(f+"type", "%s works on on-screen keys (VPKs) only, and keys[0]…keys[%d] are the %s's physical MPKs; move it to keys[%d] or later",
			strings.ToLower(strings.TrimSpace(k.Type)), m.MPKs-1, m.Name, m.MPKs)
	}
	if k.Account < 0 || k.Account > m.Accounts {
		return fieldErr(f+"account", "%s has accounts 1-%d, have %d", m.Name, m.Accounts, k.Account)
	}
	if mode.needsValue && strings.TrimSpace(k.Value) == "" {
		return fieldErr(f+"value", "required for a %s key", strings.ToLower(strings.TrimSpace(k.Type)))
	}
	if err := validateText(f+"label", k.Label, s.labelMax()); err != nil {
		return err
	}
	return validateText(f+"value", k.Value, valueMax)
}

// validateText checks free text that goes into the config: valid UTF-8,
// no control characters, at most limit characters.
func validateText(field, s string, limit int) error {
	if !utf8.ValidString(s) {
		return fieldErr(field, "not valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > limit {
		return fieldErr(field, "at most %d characters, have %d", limit, n)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fieldErr(field, "control characters are not allowed")
		}
		if !xmlChar(r) {
			return fieldErr(field, "%U cannot be written to a config file", r)
		}
	}
	return nil
}

// checkPValueNames checks raw overrides beyond ValidatePValues:
// a name with a leading zero ("P012") is the same P-value as "P12", and two
// spellings of one P-value in one layer would make the winner depend on map
// order, so only the canonical spelling is accepted.
func checkPValueNames(field string, pv map[string]string) error {
	if err := ValidatePValues(field, pv); err != nil {
		return err
	}
	for name := range pv {
		if len(name) > 2 && name[1] == '0' {
			canon := strings.TrimLeft(name[1:], "0")
			if canon == "" {
				canon = "0"
			}
			return fieldErr(field, "%q has a leading zero; write %q", name, "P"+canon)
		}
	}
	return nil
}

// xmlChar reports whether r may appear in an XML 1.0 document (the Char
// production, XML 1.0 §2.2). encoding/xml silently turns the others into
// U+FFFD, which would change a password or a name behind the user's back.
func xmlChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

func fieldErr(field, format string, a ...any) error {
	return &appliance.FieldError{Field: field, Msg: fmt.Sprintf(format, a...)}
}
