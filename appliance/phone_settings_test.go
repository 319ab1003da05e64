package appliance

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func intp(n int) *int { return &n }

func TestPhoneSettingsNormalize(t *testing.T) {
	in := DefaultSettings()
	in.PhoneSettings = PhoneSettings{
		PhoneAdminPassword: "s3cret-Admin",
		ConfigServerPath:   " prov.example.com:8080/gs ",
		ConfigProtocol:     "HTTPS",
		FirmwareServerPath: "10.0.0.5/fw",
		FirmwareProtocol:   "tftp",
		AutoProvision:      AutoProvision{Mode: "Every_Minutes", IntervalMinutes: 1440},
		VoicemailNumber:    "*97",
		Language:           "de",
		ModelDefaults: map[string]ModelLayer{
			"gxp2160": {PValues: map[string]string{"P8345": "1"}},
			"GXP2130": {PValues: map[string]string{}},
		},
		PValues: map[string]string{},
	}
	got, err := in.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	want := PhoneSettings{
		PhoneAdminPassword: "s3cret-Admin",
		ConfigServerPath:   "prov.example.com:8080/gs",
		ConfigProtocol:     "https",
		FirmwareServerPath: "10.0.0.5/fw",
		FirmwareProtocol:   "tftp",
		AutoProvision:      AutoProvision{Mode: "every_minutes", IntervalMinutes: 1440},
		VoicemailNumber:    "*97",
		Language:           "de",
		ModelDefaults: map[string]ModelLayer{
			"GXP2160": {PValues: map[string]string{"P8345": "1"}},
			"GXP2130": {},
		},
	}
	if diff := cmp.Diff(want, got.PhoneSettings); diff != "" {
		t.Errorf("Normalize (-want +got):\n%s", diff)
	}
}

func TestPhoneSettingsErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ps    PhoneSettings
		field string
	}{
		{"admin password not ASCII", PhoneSettings{PhoneAdminPassword: "pässword"}, "phone_admin_password"},
		{"config path with scheme", PhoneSettings{ConfigServerPath: "http://box/p/x"}, "config_server_path"},
		{"config path with space", PhoneSettings{ConfigServerPath: "box/p x"}, "config_server_path"},
		{"config path without host", PhoneSettings{ConfigServerPath: "/p/x"}, "config_server_path"},
		{"config path bad port", PhoneSettings{ConfigServerPath: "box:99999/p"}, "config_server_path"},
		{"config protocol ftp", PhoneSettings{ConfigProtocol: "ftp"}, "config_protocol"},
		{"firmware path bad host", PhoneSettings{FirmwareServerPath: "bad_host/fw"}, "firmware_server_path"},
		{"firmware protocol", PhoneSettings{FirmwareProtocol: "gopher"}, "firmware_protocol"},
		{"auto provision mode", PhoneSettings{AutoProvision: AutoProvision{Mode: "sometimes"}}, "auto_provision.mode"},
		{"interval too short", PhoneSettings{AutoProvision: AutoProvision{Mode: "every_minutes", IntervalMinutes: 5}}, "auto_provision.interval_minutes"},
		{"hour", PhoneSettings{AutoProvision: AutoProvision{Hour: intp(24)}}, "auto_provision.hour"},
		{"day", PhoneSettings{AutoProvision: AutoProvision{DayOfWeek: intp(-1)}}, "auto_provision.day_of_week"},
		{"voicemail", PhoneSettings{VoicemailNumber: "*97 x"}, "voicemail_number"},
		{"language", PhoneSettings{Language: "en<"}, "language"},
		{"model name", PhoneSettings{ModelDefaults: map[string]ModelLayer{"GXP 2130": {}}}, "model_defaults.GXP 2130"},
		{"model twice", PhoneSettings{ModelDefaults: map[string]ModelLayer{"GXP2130": {}, "gxp2130": {}}}, "model_defaults.gxp2130"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := DefaultSettings()
			s.PhoneSettings = tc.ps
			_, err := s.Normalize()
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Normalize error = %v, want a *FieldError", err)
			}
			if fe.Field != tc.field {
				t.Errorf("field = %q (%v), want %q", fe.Field, err, tc.field)
			}
		})
	}
}

// The settings API merges a PUT into the stored settings by unmarshalling
// onto them; the phone settings must take part in that like the rest.
func TestPhoneSettingsJSONMerge(t *testing.T) {
	s := DefaultSettings()
	s.Language = "fr"
	s.AutoProvision = AutoProvision{Mode: AutoProvisionEveryMinutes, IntervalMinutes: 60}
	if err := json.Unmarshal([]byte(`{"auto_provision":{"interval_minutes":120},"legacy_binary":true}`), &s); err != nil {
		t.Fatal(err)
	}
	want := PhoneSettings{
		Language:      "fr",
		AutoProvision: AutoProvision{Mode: AutoProvisionEveryMinutes, IntervalMinutes: 120},
		LegacyBinary:  true,
	}
	if diff := cmp.Diff(want, s.PhoneSettings); diff != "" {
		t.Errorf("merged settings (-want +got):\n%s", diff)
	}
}
