package appliance

import "testing"

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
