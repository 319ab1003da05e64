package appliance

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAdmissionSettingsNormalize(t *testing.T) {
	s := DefaultSettings()
	if err := json.Unmarshal([]byte(`{"extension_pool":"200 - 249, 300","unknown_phones":"IGNORE",
		"allow_macs":["00:0b:82","000B82"],"deny_macs":["000b82-27-3b-89"],"pool_max_per_press":5}`), &s); err != nil {
		t.Fatal(err)
	}
	got, err := s.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	want := AdmissionSettings{ExtensionPool: "200-249,300", PoolPasswordLength: 20, PoolMaxPerPress: 5, UnknownPhones: "ignore",
		AllowMACs: []string{"000B82"}, DenyMACs: []string{"000B82273B89"}}
	if diff := cmp.Diff(want, got.AdmissionSettings); diff != "" {
		t.Errorf("Normalize (-want +got):\n%s", diff)
	}
}

func TestAdmissionSettingsErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    AdmissionSettings
		field string
	}{
		{"pool", AdmissionSettings{ExtensionPool: "300-200"}, "extension_pool"},
		{"password too short", AdmissionSettings{PoolPasswordLength: 8}, "pool_password_length"},
		{"password too long", AdmissionSettings{PoolPasswordLength: 65}, "pool_password_length"},
		{"cap", AdmissionSettings{PoolMaxPerPress: -1}, "pool_max_per_press"},
		{"policy", AdmissionSettings{UnknownPhones: "approve"}, "unknown_phones"},
		{"allow entry", AdmissionSettings{AllowMACs: []string{"000B82", "xyz"}}, "allow_macs[1]"},
		{"deny entry", AdmissionSettings{DenyMACs: []string{"0B82"}}, "deny_macs[0]"},
		{"both lists", AdmissionSettings{AllowMACs: []string{"000b82"}, DenyMACs: []string{"00:0B:82"}}, "deny_macs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := DefaultSettings()
			s.AdmissionSettings = tc.in
			_, err := s.Normalize()
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Errorf("Normalize = %v, want a FieldError on %s", err, tc.field)
			}
		})
	}
}

func TestAdmit(t *testing.T) {
	grandstream, other, denied := MAC{0x00, 0x0b, 0x82, 1, 2, 3}, MAC{0x00, 0x15, 0x65, 1, 2, 3}, MAC{0x00, 0x0b, 0x82, 9, 9, 9}
	list := AdmissionSettings{UnknownPhones: UnknownList, DenyMACs: []string{"000B82090909"}}
	ignore := AdmissionSettings{UnknownPhones: UnknownIgnore, AllowMACs: []string{"000B82"}, DenyMACs: []string{"000B82090909"}}
	for _, tc := range []struct {
		name  string
		s     AdmissionSettings
		m     MAC
		known bool
		want  Admission
	}{
		{"list: unknown recorded", list, other, false, AdmitRecord},
		{"list: denied", list, denied, false, AdmitDeny},
		{"list: denied even when known", list, denied, true, AdmitDeny},
		{"ignore: unknown ignored", ignore, other, false, AdmitIgnore},
		{"ignore: pre-staged recorded", ignore, other, true, AdmitRecord},
		{"ignore: allowed OUI recorded", ignore, grandstream, false, AdmitRecord},
		{"ignore: deny beats allow", ignore, denied, false, AdmitDeny},
	} {
		if got := tc.s.Admit(tc.m, tc.known); got != tc.want {
			t.Errorf("%s: Admit = %d, want %d", tc.name, got, tc.want)
		}
	}
}
