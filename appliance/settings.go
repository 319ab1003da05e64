package appliance

import (
	"maps"
	"slices"
	"strings"
)

// Provision modes.
const (
	ModeButton = "button" // NOTIFY only on the button, page or API
	ModeAuto   = "auto"   // NOTIFY as soon as a seen phone has an assignment
)

// NOTIFY URL forms (DESIGN.md "Provisioning files").
const (
	URLFormFile   = "file"   // http://box:port/p/<token>/cfg<MAC> (the vendor guide's form)
	URLFormFolder = "folder" // http://box:port/p/<token>/ (some firmware is reported to want it)
	// URLFormAuto defers to the next level: a phone's choice to the
	// site's, the site's to the model family's default (docs/models.md).
	URLFormAuto = "auto"
)

// validateURLForm checks a NOTIFY URL form choice; "" is URLFormAuto.
func validateURLForm(field, f string) error {
	switch f {
	case "", URLFormAuto, URLFormFile, URLFormFolder:
		return nil
	}
	return fieldErr(field, "must be %q (the model family's form), %q or %q", URLFormAuto, URLFormFile, URLFormFolder)
}

// Settings are the site defaults, edited through GET|PUT /api/settings.
// PUT merges: fields absent from the request keep their value.
//
// The fields fall in three groups, embedded so that the JSON object stays
// flat: how the box provisions (here), what is rendered into every phone's
// config (PhoneSettings, phone_settings.go: the only part the renderer
// sees), and which phones the box takes in and how accounts are handed out
// (AdmissionSettings, admission.go).
type Settings struct {
	ProvisionMode string `json:"provision_mode"`
	// NotifyURLForm is the site's NOTIFY URL form: URLFormAuto (the
	// default: each phone's model family decides, docs/models.md),
	// URLFormFile or URLFormFolder for every phone without its own choice
	// (Assignment.NotifyURLForm).
	NotifyURLForm string `json:"notify_url_form"`

	PhoneSettings
	AdmissionSettings
	SecuritySettings
}

// DefaultSettings are what a new box starts with.
func DefaultSettings() Settings {
	return Settings{
		ProvisionMode:     ModeButton,
		NotifyURLForm:     URLFormAuto,
		AdmissionSettings: DefaultAdmissionSettings(),
	}
}

// Normalize validates s and returns the cleaned copy the box stores.
func (s Settings) Normalize() (Settings, error) {
	s.SIPServer = CleanServer(s.SIPServer)
	s.OutboundProxy = CleanServer(s.OutboundProxy)
	s.NTPServer = strings.TrimSpace(s.NTPServer)
	s.Timezone = strings.TrimSpace(s.Timezone)
	if s.ProvisionMode == "" {
		s.ProvisionMode = ModeButton
	}
	if s.ProvisionMode != ModeButton && s.ProvisionMode != ModeAuto {
		return s, fieldErr("provision_mode", "must be %q or %q", ModeButton, ModeAuto)
	}
	s.NotifyURLForm = strings.ToLower(strings.TrimSpace(s.NotifyURLForm))
	if s.NotifyURLForm == "" {
		s.NotifyURLForm = URLFormAuto
	}
	if err := validateURLForm("notify_url_form", s.NotifyURLForm); err != nil {
		return s, err
	}
	if err := ValidateServer("sip_server", s.SIPServer); err != nil {
		return s, err
	}
	if err := ValidateServer("outbound_proxy", s.OutboundProxy); err != nil {
		return s, err
	}
	if err := ValidateServer("ntp_server", s.NTPServer); err != nil {
		return s, err
	}
	if len(s.Timezone) > 64 {
		return s, fieldErr("timezone", "at most 64 characters")
	}
	codecs, err := NormalizeCodecs("codecs", s.Codecs)
	if err != nil {
		return s, err
	}
	s.Codecs = codecs
	if s.PhoneSettings, err = s.PhoneSettings.normalize(); err != nil {
		return s, err
	}
	if s.AdmissionSettings, err = s.AdmissionSettings.normalize(); err != nil {
		return s, err
	}
	if s.SecuritySettings, err = s.SecuritySettings.normalize(); err != nil {
		return s, err
	}
	return s, nil
}

// Clone returns a copy of s that shares no map, slice or pointer with it.
func (s Settings) Clone() Settings {
	s.Codecs = slices.Clone(s.Codecs)
	s.AllowMACs = slices.Clone(s.AllowMACs)
	s.DenyMACs = slices.Clone(s.DenyMACs)
	s.PValues = maps.Clone(s.PValues)
	if s.ModelDefaults != nil {
		md := make(map[string]ModelLayer, len(s.ModelDefaults))
		for k, l := range s.ModelDefaults {
			l.PValues = maps.Clone(l.PValues)
			md[k] = l
		}
		s.ModelDefaults = md
	}
	if h := s.AutoProvision.Hour; h != nil {
		s.AutoProvision.Hour = new(int)
		*s.AutoProvision.Hour = *h
	}
	if d := s.AutoProvision.DayOfWeek; d != nil {
		s.AutoProvision.DayOfWeek = new(int)
		*s.AutoProvision.DayOfWeek = *d
	}
	return s
}
