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
// ("" if none yet; then a.Model counts). A model not in the model table
// (docs/models.md) takes account 1, codecs and p_values only: extra
// accounts and keys are refused, naming the model. It returns a
// *appliance.FieldError naming the field.
func Validate(a appliance.Assignment, model string) error {
	m, known, _ := resolveModel(model, a)
	return validate(a, m, known)
}

// CheckAssignment is the check the API, the CSV import and the page run
// at the door: a as the installer sent it (it is normalized here), for a
// phone that reported model ("" if it has not announced itself yet; then
// a.Model counts). It refuses exactly what Render would refuse for this
// assignment, with a *appliance.FieldError naming the field: "accounts"
// and "keys" (naming the model) when the model cannot take them,
// "keys[i].type" and the like for one key.
func CheckAssignment(model string, a appliance.Assignment) error {
	a, err := a.Normalize()
	if err != nil {
		return err
	}
	return Validate(a, model)
}

func validate(a appliance.Assignment, m Model, known bool) error {
	what := m.describe(known)
	if extra := m.Accounts - 1; len(a.Accounts) > extra {
		switch {
		case !known:
			return fieldErr("accounts", "%s only account 1 is written; extra accounts are refused, have %d", what, len(a.Accounts))
		case m.Note != "":
			return fieldErr("accounts", "%s takes %d account(s) from the box (%s); at most %d extra, have %d", what, m.Accounts, m.Note, extra, len(a.Accounts))
		default:
			return fieldErr("accounts", "%s has %d accounts; at most %d extra, have %d", what, m.Accounts, extra, len(a.Accounts))
		}
	}
	if _, err := appliance.NormalizeCodecs("codecs", a.Codecs); err != nil {
		return err
	}
	// What is wrong with a key on any model is reported against that
	// key first; then whether the keys fit this model.
	for i, k := range a.Keys {
		if _, ok := lookupKeyMode(k.Type); !ok {
			return fieldErr(fmt.Sprintf("keys[%d].type", i), "unknown key type %q (known: %s)", k.Type, strings.Join(KeyTypes(), ", "))
		}
	}
	slots := m.slots()
	if len(a.Keys) > len(slots) {
		switch {
		case !known:
			return fieldErr("keys", "%s no programmable keys are written; have %d", what, len(a.Keys))
		case len(slots) == 0 && m.Note != "":
			return fieldErr("keys", "%s has no programmable keys the box can set (%s); have %d", what, m.Note, len(a.Keys))
		case len(slots) == 0:
			return fieldErr("keys", "%s has no programmable keys the box can set; have %d", what, len(a.Keys))
		default:
			return fieldErr("keys", "%s holds %d keys (%s); have %d", what, len(slots), layout(m), len(a.Keys))
		}
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
	var parts []string
	if m.MPKs > 0 {
		parts = append(parts, fmt.Sprintf("%d physical MPKs", m.MPKs))
	}
	if n := m.VPKs - m.LineVPKs; n > 0 {
		parts = append(parts, fmt.Sprintf("%d on-screen VPKs after the %d line keys", n, m.LineVPKs))
	}
	s := strings.Join(parts, ", then ")
	if m.Note != "" {
		s += "; " + m.Note
	}
	return s
}

func validateKey(i int, k appliance.Key, s slot, m Model) error {
	f := fmt.Sprintf("keys[%d].", i)
	mode, ok := lookupKeyMode(k.Type)
	if !ok {
		return fieldErr(f+"type", "unknown key type %q (known: %s)", k.Type, strings.Join(KeyTypes(), ", "))
	}
	if mode.vpkOnly && !s.vpk && m.Keys() == m.MPKs {
		return fieldErr(f+"type", "%s works on on-screen keys (VPKs) only, and the box sets none on the %s", strings.ToLower(strings.TrimSpace(k.Type)), m.Name)
	}
	if mode.vpkOnly && !s.vpk {
		return fieldErr(f+"type", "%s works on on-screen keys (VPKs) only, and keys[0]…keys[%d] are the %s's physical MPKs; move it to keys[%d] or later",
			strings.ToLower(strings.TrimSpace(k.Type)), m.MPKs-1, m.Name, m.MPKs)
	}
	if k.Account < 0 || k.Account > m.Accounts {
		if m.Note != "" {
			return fieldErr(f+"account", "%s takes accounts 1-%d from the box (%s), have %d", m.Name, m.Accounts, m.Note, k.Account)
		}
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
