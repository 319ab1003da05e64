package profile

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/pnpbox/pnpbox/appliance"
)

// Input is everything needed to render one phone's config.
type Input struct {
	MAC appliance.MAC
	// Model is the model the phone reported, e.g. "GXP2140"; "" if unknown.
	// Then Assignment.Model counts. With neither, or a model not in the
	// model table (docs/models.md), the config holds account 1, the codecs
	// and the site settings only; an assignment that asks for more (extra
	// accounts, keys) is refused, never laid out on a guessed model.
	Model string
	// Assignment is the phone's account plan, already passed through
	// Assignment.Normalize (Render normalizes it again; it is idempotent).
	Assignment appliance.Assignment
	// Site are the site's phone settings, already normalized: what is
	// rendered into every phone (admission and pool policy are not).
	Site appliance.PhoneSettings
	// ConfigServerPath is the P237 value, host:port/p/<token> without a
	// scheme, as the box computes it. Site.ConfigServerPath overrides it.
	ConfigServerPath string
	// AdminPassword is P2 for this phone: the site's value or one generated
	// for this phone; the caller decides. Empty leaves P2 out.
	AdminPassword string
	// BoxProtocols are the protocols (appliance.ProtocolHTTP, …) the box
	// serves configs over at ConfigServerPath; nil means HTTP only. Check
	// refuses a P212 outside them while P237 is the box's own path.
	BoxProtocols []string
}

// pvalue is one P-value and the input field it came from, so that a value
// the file cannot carry is reported against the field to fix.
type pvalue struct{ value, field string }

// config is one phone's P-values by P-number.
type config map[int]pvalue

func (c config) set(p int, value, field string) { c[p] = pvalue{value, field} }

// numbers returns the P-numbers in c in ascending order: the file's order,
// which keeps the output byte-stable.
func (c config) numbers() []int { return slices.Sorted(maps.Keys(c)) }

// build computes a phone's P-values, layer by layer; a later layer
// overrides an earlier one:
//
//  1. defaults (known model only): accounts the assignment does not use are
//     switched off and every key it does not use is set to None, so that
//     what an installer removes goes away on the phone too;
//  2. the site settings;
//  3. the site's raw p_values;
//  4. the raw p_values of the phone's model (model_defaults);
//  5. the assignment: accounts, codecs, keys;
//  6. the assignment's raw p_values.
func build(in Input) (config, error) {
	if in.MAC.IsZero() {
		return nil, fieldErr("mac", "required")
	}
	a, err := in.Assignment.Normalize()
	if err != nil {
		return nil, err
	}
	m, known, name := resolveModel(in.Model, a)
	if err := validate(a, m, known); err != nil {
		return nil, err
	}
	// Its messages never quote the password.
	if err := appliance.ValidatePassword("admin_password", in.AdminPassword); err != nil {
		return nil, err
	}
	if err := checkPValueNames("settings.p_values", in.Site.PValues); err != nil {
		return nil, err
	}
	modelField := fmt.Sprintf("settings.model_defaults.%s.p_values", name)
	modelPValues := in.Site.ModelDefaults[name].PValues
	if err := checkPValueNames(modelField, modelPValues); err != nil {
		return nil, err
	}

	c := config{}
	if known {
		c.defaults(a, m)
	}
	if err := c.site(in, a, m); err != nil {
		return nil, err
	}
	c.raw("settings.p_values", in.Site.PValues)
	c.raw(modelField, modelPValues)
	c.assignment(a, m)
	c.raw("p_values", a.PValues)
	if err := c.check(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c config) defaults(a appliance.Assignment, m Model) {
	for i := 1 + len(a.Accounts); i < m.Accounts; i++ {
		c.set(m.accountP(i).Active, "0", "accounts")
	}
	// Dynamic VPKs are all written, None included: the phone drops every
	// dynamic VPK after a missing one (FPBX-P: "Even if a Dynamic VPK has
	// mode set to None, it should be added in sequence").
	for _, s := range m.slots() {
		c.key(s, -1, 0, "", "", "keys")
	}
}

// site writes the site settings: globals, and for every account the
// assignment uses the site's server, proxy, voicemail number and codecs.
func (c config) site(in Input, a appliance.Assignment, m Model) error {
	s := in.Site
	path, pathField := in.ConfigServerPath, "config_server_path"
	if s.ConfigServerPath != "" {
		path, pathField = s.ConfigServerPath, "settings.config_server_path"
	}
	if path != "" {
		c.set(237, path, pathField)
	}
	proto := s.ConfigProtocol
	if proto == "" {
		proto = appliance.ProtocolHTTP
	}
	code, ok := protocolCodes[proto]
	if !ok {
		return fieldErr("settings.config_protocol", "unknown protocol %q", s.ConfigProtocol)
	}
	c.set(212, strconv.Itoa(code), "settings.config_protocol")
	if in.AdminPassword != "" {
		c.set(2, in.AdminPassword, "admin_password")
	}
	// Phone-side Plug-and-Play (P1414, "3CX Auto Provision", default on)
	// is switched off once the box has provisioned the phone: the box
	// does not need it (later downloads go through P237), and left on,
	// the phone takes the first answer from anyone on the LAN at every
	// boot. settings.keep_pnp keeps it on (docs/models.md).
	if s.KeepPnP {
		c.set(1414, "1", "settings.keep_pnp")
	} else {
		c.set(1414, "0", "settings.keep_pnp")
	}
	c.setIf(30, s.NTPServer, "settings.ntp_server")
	c.setIf(64, s.Timezone, "settings.timezone")
	c.setIf(1362, s.Language, "settings.language")
	c.setIf(192, s.FirmwareServerPath, "settings.firmware_server_path")
	if s.FirmwareProtocol != "" {
		code, ok := protocolCodes[s.FirmwareProtocol]
		if !ok {
			return fieldErr("settings.firmware_protocol", "unknown protocol %q", s.FirmwareProtocol)
		}
		c.set(6767, strconv.Itoa(code), "settings.firmware_protocol")
	}
	if err := c.autoProvision(s.AutoProvision); err != nil {
		return err
	}

	codecs, err := appliance.NormalizeCodecs("settings.codecs", s.Codecs)
	if err != nil {
		return err
	}
	for i := range 1 + len(a.Accounts) {
		ap := m.accountP(i)
		c.setIf(ap.Server, s.SIPServer, "settings.sip_server")
		// Written even when empty, so that a proxy or voicemail number
		// removed from the settings goes away on the phone too.
		c.set(ap.Proxy, s.OutboundProxy, "settings.outbound_proxy")
		c.set(ap.Voicemail, s.VoicemailNumber, "settings.voicemail_number")
		c.vocoders(ap, codecs, "settings.codecs")
	}
	return nil
}

// protocolCodes are P212 (config) and P6767 (firmware) values (reference
// §2.2, firmware 1.0.10.35).
var protocolCodes = map[string]int{
	appliance.ProtocolTFTP:  0,
	appliance.ProtocolHTTP:  1,
	appliance.ProtocolHTTPS: 2,
}

// autoProvisionCodes are P194 values (reference §2.2).
var autoProvisionCodes = map[string]int{
	appliance.AutoProvisionNo:           0,
	appliance.AutoProvisionEveryMinutes: 1,
	appliance.AutoProvisionHourOfDay:    2,
	appliance.AutoProvisionDayOfWeek:    3,
}

func (c config) autoProvision(ap appliance.AutoProvision) error {
	if ap.Mode != "" {
		code, ok := autoProvisionCodes[ap.Mode]
		if !ok {
			return fieldErr("settings.auto_provision.mode", "unknown mode %q", ap.Mode)
		}
		c.set(194, strconv.Itoa(code), "settings.auto_provision.mode")
	}
	if ap.IntervalMinutes != 0 {
		c.set(193, strconv.Itoa(ap.IntervalMinutes), "settings.auto_provision.interval_minutes")
	}
	if ap.Hour != nil {
		c.set(285, strconv.Itoa(*ap.Hour), "settings.auto_provision.hour")
	}
	if ap.DayOfWeek != nil {
		c.set(286, strconv.Itoa(*ap.DayOfWeek), "settings.auto_provision.day_of_week")
	}
	return nil
}

// assignment writes the phone's own values: its accounts and keys.
func (c config) assignment(a appliance.Assignment, m Model) {
	accounts := append([]appliance.Account{{
		Extension: a.Extension, Password: a.Password, DisplayName: a.DisplayName,
		AuthID: a.AuthID, SIPServer: a.SIPServer,
	}}, a.Accounts...)
	for i, acc := range accounts {
		ap, f := m.accountP(i), ""
		if i > 0 {
			f = fmt.Sprintf("accounts[%d].", i-1)
		}
		c.set(ap.Active, "1", f+"extension")
		switch {
		case acc.SIPServer != "":
			c.set(ap.Server, acc.SIPServer, f+"sip_server")
		case a.SIPServer != "":
			c.set(ap.Server, a.SIPServer, "sip_server")
		}
		c.set(ap.UserID, acc.Extension, f+"extension")
		if acc.AuthID != "" {
			c.set(ap.AuthID, acc.AuthID, f+"auth_id")
		} else {
			c.set(ap.AuthID, acc.Extension, f+"extension")
		}
		c.set(ap.Password, acc.Password, f+"password")
		c.set(ap.DisplayName, acc.DisplayName, f+"display_name")
		if acc.DisplayName != "" {
			c.set(ap.Name, acc.DisplayName, f+"display_name")
		} else {
			c.set(ap.Name, acc.Extension, f+"extension")
		}
		c.vocoders(ap, a.Codecs, "codecs")
	}

	slots := m.slots()
	for i, k := range a.Keys {
		f := fmt.Sprintf("keys[%d]", i)
		mode, _ := lookupKeyMode(k.Type) // validate has checked it
		if mode.code < 0 {
			c.key(slots[i], -1, 0, "", "", f)
			continue
		}
		account := max(k.Account, 1) - 1 // the phone counts accounts from 0
		c.key(slots[i], mode.code, account, k.Label, k.Value, f)
	}
}

func (c config) key(s slot, mode, account int, label, value, field string) {
	p := s.pnums()
	c.set(p.Mode, strconv.Itoa(mode), field+".type")
	c.set(p.Account, strconv.Itoa(account), field+".account")
	c.set(p.Label, label, field+".label")
	c.set(p.Value, value, field+".value")
}

// vocoders writes codecs (canonical names, known) into the account's eight
// preference slots in order. Slots after the last codec repeat it: the
// phone offers only the vocoders listed, so the factory defaults left in
// the remaining slots would offer codecs the site did not choose.
func (c config) vocoders(ap accountP, codecs []string, field string) {
	if len(codecs) == 0 {
		return
	}
	for i, p := range ap.Vocoders {
		name := codecs[min(i, len(codecs)-1)]
		c.set(p, strconv.Itoa(vocoderCodes[name]), field)
	}
}

func (c config) setIf(p int, value, field string) {
	if value != "" {
		c.set(p, value, field)
	}
}

// raw applies a layer of raw overrides, already checked by
// checkPValueNames.
func (c config) raw(field string, pv map[string]string) {
	for name, v := range pv {
		p, _ := strconv.Atoi(name[1:])
		c.set(p, v, field+"."+name)
	}
}

// check makes sure every value can be written: XML 1.0 cannot carry
// control characters other than tab, newline and carriage return, and
// neither file format can carry invalid UTF-8.
func (c config) check() error {
	for _, p := range c.numbers() {
		v := c[p]
		if !utf8.ValidString(v.value) {
			return fieldErr(v.field, "not valid UTF-8")
		}
		for _, r := range v.value {
			if !xmlChar(r) {
				return fieldErr(v.field, "%U cannot be written to a config file", r)
			}
		}
	}
	return nil
}
