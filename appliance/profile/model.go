package profile

import (
	"fmt"
	"strings"

	"github.com/pnpbox/pnpbox/appliance"
)

// Family is a Grandstream desk-phone family. Models of one family share
// their P-value layout and the NOTIFY URL form they accept.
type Family string

// The supported families (docs/models.md).
const (
	GXP16xx Family = "GXP16xx"
	GXP17xx Family = "GXP17xx"
	GXP21xx Family = "GXP21xx"
	GRP26xx Family = "GRP26xx"
)

// Model is what the renderer knows about one phone model: how many SIP
// accounts the box may write and where the programmable keys are. Every
// number comes from the source named in Source (docs/models.md has the
// table with its sources); a count no source gives is 0, so that the box
// refuses what it would otherwise have to guess.
type Model struct {
	Name string
	// Accounts is how many SIP accounts the box writes on this model:
	// the phone's own count where a source gives it and the P-values of
	// every one of them are known, else fewer (Note says why).
	Accounts int
	MPKs     int // physical multi-purpose keys the box may set
	VPKs     int // on-screen virtual keys the box may set up to, fixed line VPKs included
	LineVPKs int // VPK1…LineVPKs are the phone's fixed line keys, never written by the box
	Family   Family
	// Source names the public sources of the counts above (short keys
	// explained in docs/models.md).
	Source string
	// Note says what is known but not used, and why; "" if nothing.
	Note string
}

// models is the model table (docs/models.md; keep the two in step, a test
// checks it). Source keys:
//
//	FPBX-P    fusionpbx gxp2130/{$mac}.xml at d3f37c0f84 (GXP2130/2140/2160/2170/2135, fw 1.0.10.35)
//	FPBX-V2   fusionpbx gxp2135|gxp2170/{$mac}.xml (GXP21xx, fw 1.0.11.79), VPK/MPK comments
//	FPBX-16   fusionpbx gxp16xx/{$mac}.xml (GXP1610/1620/1625/1628/1630, fw 1.0.4.33)
//	FPBX-17   fusionpbx gxp17xx/{$mac}.xml (GXP1782/1780/1760, fw 1.0.1.8)
//	FPBX-GRP  fusionpbx grp26xx/{$mac}.xml (GRP2612/2613/2614/2615, fw 1.0.3.6)
//	FPBX-261X fusionpbx grp261x/{$mac}.xml (fw 1.0.5.15): "Fixed VPKs GRP2612,GRP2614: 4, GRP2615: 5, GRP2613: 6"
//	FPBX-GRP2 fusionpbx grp2612/{$mac}.xml (GRP261x/2x/3x/5x/7x, fw 1.0.9.103)
//	WAZO      wazo-provd-plugins wazo_grandstream common.py MODEL_FKEYS and plugin-info files (2321a3f)
//	GS-PNP    Grandstream "Plug & Play Mechanism" (GXP21xx/17xx/16xx)
//	GS-GRP-PNP Grandstream "GRP26xx Auto-configuration Plug and Play Guide":
//	          "GRP26xx series include GRP261x and GRP260x series, GRP2624 and GRP2634"
var models = [...]Model{
	// GXP16xx: no on-screen keys; GXP1628/1630 have 8 physical MPKs with
	// the GXP21xx MPK P-values (FPBX-16 "GXP1628/1630 only" MPK1-8).
	{Name: "GXP1610", Family: GXP16xx, Accounts: 1, Source: "FPBX-16, WAZO (1 line, 0 keys)"},
	{Name: "GXP1615", Family: GXP16xx, Accounts: 1, Source: "WAZO (1 line, 0 keys)",
		Note: "not named in FPBX-16's header; Wazo lists it with the GXP1610"},
	{Name: "GXP1620", Family: GXP16xx, Accounts: 2, Source: "FPBX-16 (account 2: GXP1620/1625/1628/1630), WAZO"},
	{Name: "GXP1625", Family: GXP16xx, Accounts: 2, Source: "FPBX-16, WAZO"},
	{Name: "GXP1628", Family: GXP16xx, Accounts: 2, MPKs: 8, Source: "FPBX-16 (MPK1-8), WAZO (8 keys)"},
	{Name: "GXP1630", Family: GXP16xx, Accounts: 3, MPKs: 8, Source: "FPBX-16 (account 3: GXP1630 only; MPK1-8), WAZO"},

	// GXP17xx: on-screen VPKs only (FPBX-17 per-model VPK lists).
	{Name: "GXP1760", Family: GXP17xx, Accounts: 3, VPKs: 24, LineVPKs: 6, Source: "FPBX-17 (VPK1-6 fixed, VPK7-24 dynamic; account 4 GXP1782/1780 only)"},
	{Name: "GXP1780", Family: GXP17xx, Accounts: 4, VPKs: 32, LineVPKs: 8, Source: "FPBX-17 (VPK1-8 fixed, VPK9-32 dynamic; account 4)"},
	{Name: "GXP1782", Family: GXP17xx, Accounts: 4, VPKs: 32, LineVPKs: 8, Source: "FPBX-17 (as GXP1780)"},

	// GXP21xx (reference §2.3).
	{Name: "GXP2130", Family: GXP21xx, Accounts: 3, MPKs: 8, VPKs: 12, LineVPKs: 3, Source: "FPBX-P, FPBX-V2, WAZO (vpk 12, mpk 8)"},
	{Name: "GXP2135", Family: GXP21xx, Accounts: 4, VPKs: 32, LineVPKs: 8, Source: "FPBX-P (account 4: GXP2140/2160/2170/2135), FPBX-V2 (VPK1-8 fixed, VPK9-32), WAZO (vpk 32, mpk 0)"},
	{Name: "GXP2140", Family: GXP21xx, Accounts: 4, VPKs: 16, LineVPKs: 4, Source: "FPBX-P, FPBX-V2, WAZO (vpk 16, mpk 0)"},
	{Name: "GXP2160", Family: GXP21xx, Accounts: 6, MPKs: 24, VPKs: 24, LineVPKs: 6, Source: "FPBX-P, FPBX-V2, WAZO (vpk 24, mpk 24)"},
	{Name: "GXP2170", Family: GXP21xx, Accounts: 6, VPKs: 48, LineVPKs: 12, Source: "FPBX-P (accounts 5-6: GXP2160/2170), FPBX-V2 (VPK1-12 fixed, VPK13-48), WAZO (vpk 48, mpk 0)"},

	// GRP26xx. Accounts 1-5 have known P-values (FPBX-GRP: account 5 is
	// the 700 block on the GRP, not 1700 as on the GXP). On-screen keys:
	// FPBX-GRP shows the VPK1-6 P-value block only, so the box writes
	// dynamic VPKs up to VPK6 and no further (the GXP's VPK7+ block is
	// not shown for the GRP). Physical MPKs 1-24 use the GXP21xx MPK
	// P-values (FPBX-GRP "GRP2614 only", MPK1-24).
	{Name: "GRP2601", Family: GRP26xx, Accounts: 1, Source: "GS-GRP-PNP (GRP260x)",
		Note: "account count and keys not sourced: account 1 only, keys refused"},
	{Name: "GRP2602", Family: GRP26xx, Accounts: 1, Source: "GS-GRP-PNP (GRP260x)",
		Note: "account count and keys not sourced: account 1 only, keys refused"},
	{Name: "GRP2603", Family: GRP26xx, Accounts: 1, Source: "GS-GRP-PNP (GRP260x)",
		Note: "account count and keys not sourced: account 1 only, keys refused"},
	{Name: "GRP2604", Family: GRP26xx, Accounts: 1, Source: "GS-GRP-PNP (GRP260x)",
		Note: "account count and keys not sourced: account 1 only, keys refused"},
	{Name: "GRP2612", Family: GRP26xx, Accounts: 2, VPKs: 6, LineVPKs: 4, Source: "FPBX-GRP (account 2), FPBX-261X (4 fixed VPKs), WAZO (vpk 16)",
		Note: "16 VPKs (WAZO); VPK7-16 not written: P-values not sourced for the GRP"},
	{Name: "GRP2613", Family: GRP26xx, Accounts: 3, LineVPKs: 6, Source: "FPBX-GRP (account 3: GRP2613/2614), FPBX-261X (6 fixed VPKs), WAZO (vpk 24)",
		Note: "24 VPKs (WAZO); VPK7-24 not written: P-values not sourced for the GRP"},
	{Name: "GRP2614", Family: GRP26xx, Accounts: 4, MPKs: 24, VPKs: 6, LineVPKs: 4, Source: "FPBX-GRP (account 4: GRP2614/2615; MPK1-24), FPBX-261X (4 fixed VPKs), WAZO (vpk 16, mpk 24)",
		Note: "16 VPKs (WAZO); VPK7-16 not written: P-values not sourced for the GRP"},
	{Name: "GRP2615", Family: GRP26xx, Accounts: 5, VPKs: 6, LineVPKs: 5, Source: "FPBX-GRP (account 5: GRP2615 only, block 700), FPBX-261X (5 fixed VPKs), WAZO (vpk 40)",
		Note: "40 VPKs (WAZO); VPK7-40 not written: P-values not sourced for the GRP"},
	{Name: "GRP2616", Family: GRP26xx, Accounts: 1, MPKs: 24, Source: "WAZO (vpk 16, mpk 24), FPBX-GRP2 (physical MPKs: GRP2614/GRP2616/GRP2636)",
		Note: "account count and fixed-VPK count not sourced: account 1 only, keys on the 24 MPKs only"},
	{Name: "GRP2624", Family: GRP26xx, Accounts: 1, Source: "GS-GRP-PNP (GRP2624)",
		Note: "account count and keys not sourced: account 1 only, keys refused"},
	{Name: "GRP2634", Family: GRP26xx, Accounts: 1, Source: "GS-GRP-PNP (GRP2634)",
		Note: "account count and keys not sourced: account 1 only, keys refused"},
	{Name: "GRP2636", Family: GRP26xx, Accounts: 1, Source: "FPBX-GRP2 (names GRP2636 among its models)",
		Note: "account count and keys not sourced: account 1 only, keys refused"},
	{Name: "GRP2650", Family: GRP26xx, Accounts: 1, Source: "FPBX-GRP2 (names GRP2650 among its models)",
		Note: "account count and keys not sourced: account 1 only, keys refused"},
}

// Models returns the model table, in the order of docs/models.md.
func Models() []Model { return append([]Model(nil), models[:]...) }

// variantSuffixes are the letters Grandstream appends to a model name for
// a hardware variant with the same keys and accounts: P (PoE, e.g.
// GXP1610P, GRP2612P), W (Wi-Fi, GRP2612W — the SUBSCRIBE in reference
// §3.1 says model="GRP2612W"), G (gigabit, GRP2612G).
const variantSuffixes = "PWG"

// LookupModel returns the model named name (any case, surrounding space
// ignored). A name ending in one variant letter (variantSuffixes) that
// is not itself in the table finds the model without it: "GRP2612W" is
// the GRP2612 row.
func LookupModel(name string) (Model, bool) {
	name = strings.ToUpper(strings.TrimSpace(name))
	if m, ok := lookupExact(name); ok {
		return m, true
	}
	if n := len(name); n > 1 && strings.IndexByte(variantSuffixes, name[n-1]) >= 0 {
		return lookupExact(name[:n-1])
	}
	return Model{}, false
}

func lookupExact(name string) (Model, bool) {
	for _, m := range models {
		if m.Name == name {
			return m, true
		}
	}
	return Model{}, false
}

// Keys is how many programmable keys an assignment may use: the physical
// MPKs, then the dynamic VPKs after the fixed line keys.
func (m Model) Keys() int { return m.MPKs + max(0, m.VPKs-m.LineVPKs) }

// URLForm returns the NOTIFY URL form (appliance.URLFormFile or
// appliance.URLFormFolder) the model's family is documented to accept,
// and false for a model not in the table (the caller then uses the site
// setting). GXP16xx, GXP17xx and GXP21xx: file, as Grandstream's "Plug &
// Play Mechanism" guide for these families shows (…/cfg<MAC>). GRP26xx:
// folder, as gs_tools' responder, tested on a GRP2612W, says the phone
// silently ignores anything but a path ending in "/" (reference §1.5).
// A per-site or per-phone choice overrides this default.
func URLForm(model string) (form string, known bool) {
	m, ok := LookupModel(model)
	if !ok {
		return "", false
	}
	if m.Family == GRP26xx {
		return appliance.URLFormFolder, true
	}
	return appliance.URLFormFile, true
}

// URLFormAuto is a per-phone or per-site NOTIFY URL form that defers to
// the next level: the phone to the site, the site to the model family.
// "" means the same.
const URLFormAuto = appliance.URLFormAuto

// ChooseURLForm returns the NOTIFY URL form for a phone of model: the
// phone's own choice, else the site's, else the family default
// (URLForm), else the file form of the vendor guide. A choice of "" or
// URLFormAuto defers to the next level; anything else is taken as given
// (the caller validates it).
func ChooseURLForm(model, phone, site string) string {
	for _, f := range []string{phone, site} {
		if f != "" && f != URLFormAuto {
			return f
		}
	}
	if f, ok := URLForm(model); ok {
		return f
	}
	return appliance.URLFormFile
}

// resolveModel picks the model to lay the config out for: the one the phone
// reported, else (nothing reported yet) the one the assignment expects.
// known is false when that model is not in the table; m then has the name
// and account 1 only, so that nothing model-specific is written. name is
// the model name in upper case for the model_defaults layer, which may
// name a model without a row here.
func resolveModel(reported string, a appliance.Assignment) (m Model, known bool, name string) {
	name = strings.ToUpper(strings.TrimSpace(reported))
	if name == "" {
		name = strings.ToUpper(strings.TrimSpace(a.Model))
	}
	m, known = LookupModel(name)
	if !known {
		m = Model{Name: name, Accounts: 1}
	}
	return m, known, name
}

// describe names the model for an error message.
func (m Model) describe(known bool) string {
	switch {
	case known:
		return m.Name
	case m.Name == "":
		return `the phone's model is not known yet (it has not announced itself; set "model"), so`
	default:
		return fmt.Sprintf("model %s is not in the model table (docs/models.md), so", m.Name)
	}
}
