package profile

import (
	"strings"

	"github.com/pnpbox/pnpbox/appliance"
)

// Model is what the renderer needs to know about one phone model: how many
// SIP accounts it has and how its programmable keys are laid out.
type Model struct {
	Name     string
	Accounts int // SIP accounts
	MPKs     int // physical multi-purpose keys
	VPKs     int // on-screen virtual keys, fixed line keys included
	LineVPKs int // VPK1…LineVPKs are fixed line keys, one per account
}

// models are the supported phones. Counts from reference §2 (accounts) and
// §2.3 (keys: FPBX-V2 comments, Wazo MODEL_FKEYS).
var models = [...]Model{
	{Name: "GXP2130", Accounts: 3, MPKs: 8, VPKs: 12, LineVPKs: 3},
	{Name: "GXP2140", Accounts: 4, MPKs: 0, VPKs: 16, LineVPKs: 4},
	{Name: "GXP2160", Accounts: 6, MPKs: 24, VPKs: 24, LineVPKs: 6},
}

// fallbackModel is used when the phone's model is not known: the smallest
// of the three, so that nothing rendered needs more than any of them has.
var fallbackModel = models[0]

// LookupModel returns the model named name (any case).
func LookupModel(name string) (Model, bool) {
	for _, m := range models {
		if strings.EqualFold(m.Name, strings.TrimSpace(name)) {
			return m, true
		}
	}
	return Model{}, false
}

// Keys is how many programmable keys an assignment may use: the physical
// MPKs, then the dynamic VPKs after the fixed line keys.
func (m Model) Keys() int { return m.MPKs + m.VPKs - m.LineVPKs }

// resolveModel picks the model to lay the config out for: the one the phone
// reported, else (nothing reported yet) the one the assignment expects, else
// the fallback; known is false for the fallback. A reported model this
// package does not know also gets the fallback: the phone knows what it is,
// so an assignment that says otherwise is wrong. name is the model name for
// the model_defaults layer, which may name a model without a layout here.
func resolveModel(reported string, a appliance.Assignment) (m Model, known bool, name string) {
	name = strings.ToUpper(strings.TrimSpace(reported))
	if name == "" {
		name = strings.ToUpper(strings.TrimSpace(a.Model))
	}
	m, known = LookupModel(name)
	if !known {
		m = fallbackModel
	}
	return m, known, name
}
