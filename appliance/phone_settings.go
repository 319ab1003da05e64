package appliance

import (
	"maps"
	"slices"
	"strings"
)

// Config and firmware download protocols (PhoneSettings.ConfigProtocol and
// FirmwareProtocol). Grandstream's P212/P6767 codes for them are the
// profile package's business.
const (
	ProtocolHTTP  = "http"
	ProtocolHTTPS = "https"
	ProtocolTFTP  = "tftp"
)

// Auto-provision modes (AutoProvision.Mode): when the phone checks its
// config server on its own after the first provisioning.
const (
	AutoProvisionNo           = "no"
	AutoProvisionEveryMinutes = "every_minutes"
	AutoProvisionHourOfDay    = "hour_of_day"
	AutoProvisionDayOfWeek    = "day_of_week"
)

// PhoneSettings are the site-wide values rendered into every phone's config:
// all the renderer (package profile) is given of the settings. Every field
// is optional: an empty one leaves the phone's own value alone, except
// where noted.
type PhoneSettings struct {
	// SIPServer is the registrar for accounts whose assignment names none
	// (host[:port]); without either a phone is not sent a NOTIFY.
	SIPServer     string `json:"sip_server"`
	OutboundProxy string `json:"outbound_proxy"`
	// Codecs are the codecs offered, in order (appliance.Codecs names);
	// an assignment's own list wins.
	Codecs    []string `json:"codecs"`
	Timezone  string   `json:"timezone"`
	NTPServer string   `json:"ntp_server"`
	// PhoneAdminPassword is the phones' web admin password. Empty: the box
	// gives each phone its own generated one. A secret: never logged.
	PhoneAdminPassword string `json:"phone_admin_password"`
	// ConfigServerPath overrides where phones fetch their config after the
	// first download (host[:port]/path, no scheme). Empty: this box.
	ConfigServerPath string `json:"config_server_path"`
	// ConfigProtocol is how they fetch it: http (the default), https, tftp.
	ConfigProtocol string `json:"config_protocol"`
	// FirmwareServerPath is where phones look for firmware (host[:port]/path,
	// no scheme); FirmwareProtocol how they fetch it.
	FirmwareServerPath string `json:"firmware_server_path"`
	FirmwareProtocol   string `json:"firmware_protocol"`
	// AutoProvision is when phones re-check the config server on their own.
	AutoProvision AutoProvision `json:"auto_provision"`
	// VoicemailNumber is what the phone dials for the voicemail key of
	// every account (e.g. "*97").
	VoicemailNumber string `json:"voicemail_number"`
	// Language is the phone's display language code ("en", "de", "auto").
	Language string `json:"language"`
	// ModelDefaults are per-model layers between the site and the phone,
	// keyed by model name in upper case ("GXP2160").
	ModelDefaults map[string]ModelLayer `json:"model_defaults"`
	// PValues are raw Grandstream overrides for every phone: {"P1234": "v"}.
	PValues map[string]string `json:"p_values"`
	// LegacyBinary makes the box also serve the legacy binary cfg<mac>
	// file; off, phones get the XML file only.
	LegacyBinary bool `json:"legacy_binary"`
	// KeepPnP keeps the phones' own Plug-and-Play (Grandstream P1414) on
	// in the configs the box renders; off (the default), a provisioned
	// phone stops multicasting its SUBSCRIBE at every boot and taking the
	// first answer from anyone on the LAN (docs/models.md).
	KeepPnP bool `json:"keep_pnp"`
}

// AutoProvision is the phone's own periodic config check.
type AutoProvision struct {
	// Mode is no, every_minutes, hour_of_day or day_of_week; empty leaves
	// the phone's setting alone.
	Mode string `json:"mode"`
	// IntervalMinutes is the period for every_minutes (60-86400; 0: the
	// phone's default, a week).
	IntervalMinutes int `json:"interval_minutes,omitempty"`
	// Hour is the hour of day (0-23) for hour_of_day; nil: the phone's default.
	Hour *int `json:"hour,omitempty"`
	// DayOfWeek is the day (0-6, as the phone counts) for day_of_week.
	DayOfWeek *int `json:"day_of_week,omitempty"`
}

// ModelLayer holds the defaults for one phone model.
type ModelLayer struct {
	PValues map[string]string `json:"p_values,omitempty"`
}

func (s PhoneSettings) normalize() (PhoneSettings, error) {
	s.ConfigServerPath = strings.TrimSpace(s.ConfigServerPath)
	s.ConfigProtocol = strings.ToLower(strings.TrimSpace(s.ConfigProtocol))
	s.FirmwareServerPath = strings.TrimSpace(s.FirmwareServerPath)
	s.FirmwareProtocol = strings.ToLower(strings.TrimSpace(s.FirmwareProtocol))
	s.AutoProvision.Mode = strings.ToLower(strings.TrimSpace(s.AutoProvision.Mode))
	s.VoicemailNumber = strings.TrimSpace(s.VoicemailNumber)
	s.Language = strings.TrimSpace(s.Language)

	if err := ValidatePassword("phone_admin_password", s.PhoneAdminPassword); err != nil {
		return s, err
	}
	if err := ValidateServerPath("config_server_path", s.ConfigServerPath); err != nil {
		return s, err
	}
	if err := validateProtocol("config_protocol", s.ConfigProtocol); err != nil {
		return s, err
	}
	if err := ValidateServerPath("firmware_server_path", s.FirmwareServerPath); err != nil {
		return s, err
	}
	if err := validateProtocol("firmware_protocol", s.FirmwareProtocol); err != nil {
		return s, err
	}
	if err := s.AutoProvision.validate(); err != nil {
		return s, err
	}
	if err := validateDialString("voicemail_number", s.VoicemailNumber); err != nil {
		return s, err
	}
	if err := validateLanguage("language", s.Language); err != nil {
		return s, err
	}
	if len(s.PValues) == 0 {
		s.PValues = nil
	}
	models, err := normalizeModelDefaults(s.ModelDefaults)
	if err != nil {
		return s, err
	}
	s.ModelDefaults = models
	return s, nil
}

func validateProtocol(field, p string) error {
	switch p {
	case "", ProtocolHTTP, ProtocolHTTPS, ProtocolTFTP:
		return nil
	}
	return fieldErr(field, "must be %q, %q or %q", ProtocolHTTP, ProtocolHTTPS, ProtocolTFTP)
}

func (a AutoProvision) validate() error {
	switch a.Mode {
	case "", AutoProvisionNo, AutoProvisionEveryMinutes, AutoProvisionHourOfDay, AutoProvisionDayOfWeek:
	default:
		return fieldErr("auto_provision.mode", "must be one of %s, %s, %s, %s",
			AutoProvisionNo, AutoProvisionEveryMinutes, AutoProvisionHourOfDay, AutoProvisionDayOfWeek)
	}
	// P193's range per the FusionPBX template's comment (reference §2.2).
	if n := a.IntervalMinutes; n != 0 && (n < 60 || n > 86400) {
		return fieldErr("auto_provision.interval_minutes", "must be 60-86400 minutes, have %d", n)
	}
	if a.Hour != nil && (*a.Hour < 0 || *a.Hour > 23) {
		return fieldErr("auto_provision.hour", "must be 0-23, have %d", *a.Hour)
	}
	if a.DayOfWeek != nil && (*a.DayOfWeek < 0 || *a.DayOfWeek > 6) {
		return fieldErr("auto_provision.day_of_week", "must be 0-6, have %d", *a.DayOfWeek)
	}
	return nil
}

// ValidateServerPath checks a Grandstream server path: "host[:port]/path"
// without a scheme, because the phone takes the scheme from a separate
// setting (reference §1.4, P237/P212).
func ValidateServerPath(field, s string) error {
	if s == "" {
		return nil
	}
	if strings.Contains(s, "://") {
		return fieldErr(field, "write it without the scheme (host[:port]/path); the protocol is a separate setting")
	}
	if len(s) > 256 {
		return fieldErr(field, "at most 256 characters, have %d", len(s))
	}
	for _, r := range s {
		if r <= ' ' || r > '~' {
			return fieldErr(field, "only printable ASCII without spaces is allowed")
		}
	}
	host, _, _ := strings.Cut(s, "/")
	if err := ValidateServer(field, host); err != nil {
		return err
	}
	if host == "" {
		return fieldErr(field, "must start with a host name or IP address")
	}
	return nil
}

// validateDialString checks something the phone dials: digits, letters and
// * # + . @ - _ (a number or a SIP user).
func validateDialString(field, s string) error {
	if len(s) > 64 {
		return fieldErr(field, "at most 64 characters, have %d", len(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || strings.IndexByte("*#+.@-_", c) >= 0) {
			return fieldErr(field, "%q is not allowed (digits, letters and *#+.@-_ only)", string(rune(c)))
		}
	}
	return nil
}

// validateLanguage checks a language code such as "en", "zh-tw" or "auto".
func validateLanguage(field, s string) error {
	if len(s) > 16 {
		return fieldErr(field, "at most 16 characters, have %d", len(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return fieldErr(field, "%q is not a language code (letters, digits, - and _)", s)
		}
	}
	return nil
}

// normalizeModelDefaults upper-cases the model names and validates each
// layer. Two names that differ only in case are an error: which one wins
// would otherwise depend on map order.
func normalizeModelDefaults(in map[string]ModelLayer) (map[string]ModelLayer, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make(map[string]ModelLayer, len(in))
	for _, name := range slices.Sorted(maps.Keys(in)) {
		model := strings.ToUpper(strings.TrimSpace(name))
		field := "model_defaults." + name
		if model == "" || !isModelName(model) {
			return nil, fieldErr(field, "%q is not a model name", name)
		}
		if _, dup := out[model]; dup {
			return nil, fieldErr(field, "model %s is listed twice", model)
		}
		layer := in[name]
		if len(layer.PValues) == 0 {
			layer.PValues = nil
		}
		out[model] = layer
	}
	return out, nil
}
