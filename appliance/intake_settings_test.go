package appliance

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParsePool(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		size uint64
	}{
		{"", "", 0},
		{"200-299", "200-299", 100},
		{" 200-249 , 300-310 ", "200-249,300-310", 61},
		{"300-310,200-249", "300-310,200-249", 61}, // handed out in the order written
		{"200-249,260", "200-249,260", 51},
		{"0200-0299", "0200-0299", 100},
		{"0-9", "0-9", 10},
		{"0-0", "0", 1},
	} {
		p, err := ParsePool(tc.in)
		if err != nil {
			t.Errorf("ParsePool(%q): %v", tc.in, err)
			continue
		}
		if p.String() != tc.want || p.Size() != tc.size {
			t.Errorf("ParsePool(%q) = %q size %d, want %q size %d", tc.in, p, p.Size(), tc.want, tc.size)
		}
	}
	for _, in := range []string{"200-", "-200", "2OO-299", "299-200", "200-299,250-260", "200-299,200", "0200-299", "200-0299",
		"1234567890123456789-1234567890123456790", "200--300", ",", "200,,300", "abc"} {
		_, err := ParsePool(in)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != "extension_pool" {
			t.Errorf("ParsePool(%q) = %v, want a FieldError on extension_pool", in, err)
		}
	}
}

func TestPoolFreeAndContains(t *testing.T) {
	p, err := ParsePool("0200-0203,300-301")
	if err != nil {
		t.Fatal(err)
	}
	taken := map[string]bool{"0201": true, "0203": true, "300": true}
	got := p.Free(10, func(e string) bool { return taken[e] })
	if diff := cmp.Diff([]string{"0200", "0202", "301"}, got); diff != "" {
		t.Errorf("Free (-want +got):\n%s", diff)
	}
	if got := p.Free(1, func(string) bool { return false }); len(got) != 1 || got[0] != "0200" {
		t.Errorf("Free(1) = %v", got)
	}
	for ext, want := range map[string]bool{"0200": true, "200": false, "0204": false, "300": true, "0300": false, "": false, "30a": false} {
		if got := p.Contains(ext); got != want {
			t.Errorf("Contains(%q) = %v, want %v", ext, got, want)
		}
	}
}

func TestParseMACPrefix(t *testing.T) {
	for in, want := range map[string]string{
		"000b82":            "000B82",
		"00:0B:82":          "000B82",
		"00-0b-82-27-3b-89": "000B82273B89",
		"000B8227":          "000B8227",
	} {
		if got, err := ParseMACPrefix(in); err != nil || got != want {
			t.Errorf("ParseMACPrefix(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "000B8", "000B82273B8900", "000G82", "0x000B82"} {
		if got, err := ParseMACPrefix(in); err == nil {
			t.Errorf("ParseMACPrefix(%q) = %q, want an error", in, got)
		}
	}
}

func TestIntakeSettingsNormalize(t *testing.T) {
	s := DefaultSettings()
	if err := json.Unmarshal([]byte(`{"extension_pool":"200 - 249, 300","unknown_phones":"IGNORE",
		"allow_macs":["00:0b:82","000B82"],"deny_macs":["000b82-27-3b-89"],"pool_max_per_press":5}`), &s); err != nil {
		t.Fatal(err)
	}
	got, err := s.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	want := IntakeSettings{ExtensionPool: "200-249,300", PoolPasswordLength: 20, PoolMaxPerPress: 5, UnknownPhones: "ignore",
		AllowMACs: []string{"000B82"}, DenyMACs: []string{"000B82273B89"}}
	if diff := cmp.Diff(want, got.IntakeSettings); diff != "" {
		t.Errorf("Normalize (-want +got):\n%s", diff)
	}
}

func TestIntakeSettingsErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    IntakeSettings
		field string
	}{
		{"pool", IntakeSettings{ExtensionPool: "300-200"}, "extension_pool"},
		{"password too short", IntakeSettings{PoolPasswordLength: 8}, "pool_password_length"},
		{"password too long", IntakeSettings{PoolPasswordLength: 65}, "pool_password_length"},
		{"cap", IntakeSettings{PoolMaxPerPress: -1}, "pool_max_per_press"},
		{"policy", IntakeSettings{UnknownPhones: "approve"}, "unknown_phones"},
		{"allow entry", IntakeSettings{AllowMACs: []string{"000B82", "xyz"}}, "allow_macs[1]"},
		{"deny entry", IntakeSettings{DenyMACs: []string{"0B82"}}, "deny_macs[0]"},
		{"both lists", IntakeSettings{AllowMACs: []string{"000b82"}, DenyMACs: []string{"00:0B:82"}}, "deny_macs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := DefaultSettings()
			s.IntakeSettings = tc.in
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
	list := IntakeSettings{UnknownPhones: UnknownList, DenyMACs: []string{"000B82090909"}}
	ignore := IntakeSettings{UnknownPhones: UnknownIgnore, AllowMACs: []string{"000B82"}, DenyMACs: []string{"000B82090909"}}
	for _, tc := range []struct {
		name  string
		s     IntakeSettings
		m     MAC
		known bool
		want  Intake
	}{
		{"list: unknown recorded", list, other, false, IntakeRecord},
		{"list: denied", list, denied, false, IntakeDeny},
		{"list: denied even when known", list, denied, true, IntakeDeny},
		{"ignore: unknown ignored", ignore, other, false, IntakeIgnore},
		{"ignore: pre-staged recorded", ignore, other, true, IntakeRecord},
		{"ignore: allowed OUI recorded", ignore, grandstream, false, IntakeRecord},
		{"ignore: deny beats allow", ignore, denied, false, IntakeDeny},
	} {
		if got := tc.s.Admit(tc.m, tc.known); got != tc.want {
			t.Errorf("%s: Admit = %d, want %d", tc.name, got, tc.want)
		}
	}
}
