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
)

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
	NotifyURLForm string `json:"notify_url_form"`

	PhoneSettings
	AdmissionSettings
	SecuritySettings
}

// DefaultSettings are what a new box starts with.
func DefaultSettings() Settings {
	return Settings{
		ProvisionMode:     ModeButton,
		NotifyURLForm:     URLFormFile,
		AdmissionSettings: DefaultAdmissionSettings(),
	}
}

// Normalize validates s and returns the cleaned copy the box stores.
func (s Settings) Normalize() (Settings, error) {
	s.SIPServer = strings.TrimSpace(s.SIPServer)
	s.OutboundProxy = strings.TrimSpace(s.OutboundProxy)
	s.NTPServer = strings.TrimSpace(s.NTPServer)
	s.Timezone = strings.TrimSpace(s.Timezone)
	if s.ProvisionMode == "" {
		s.ProvisionMode = ModeButton
	}
	if s.ProvisionMode != ModeButton && s.ProvisionMode != ModeAuto {
		return s, fieldErr("provision_mode", "must be %q or %q", ModeButton, ModeAuto)
	}
	if s.NotifyURLForm == "" {
		s.NotifyURLForm = URLFormFile
	}
	if s.NotifyURLForm != URLFormFile && s.NotifyURLForm != URLFormFolder {
		return s, fieldErr("notify_url_form", "must be %q or %q", URLFormFile, URLFormFolder)
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
