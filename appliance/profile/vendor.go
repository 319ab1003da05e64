package profile

import (
	"strings"

	"github.com/pnpbox/pnpbox/appliance"
)

// Vendor is what the box needs from one phone maker: whether a phone is
// one of its own, and the maker's rules for raw vendor values. Grandstream
// is the only one so far and lives in this package; another maker (see
// reference/other-vendors.md: other file names, config formats and
// server-path keys) becomes one package behind this interface, listed in
// vendors.
type Vendor interface {
	// Name is the maker as phones announce it, e.g. "Grandstream".
	Name() string
	// Claims reports whether a phone that announced itself as announced
	// (any case; "" or "OEM" when it did not say who made it) with MAC m
	// is one of this maker's phones.
	Claims(announced string, m appliance.MAC) bool
	// CheckRawValues checks raw overrides (Settings.PValues,
	// Assignment.PValues): the names are this maker's keys, the values fit.
	// Errors are *appliance.FieldError naming field.
	CheckRawValues(field string, values map[string]string) error
}

// vendors are the makers the box can configure.
var vendors = []Vendor{Grandstream}

// VendorFor returns the maker of a phone that announced itself as
// announced with MAC m, and false when the box cannot configure it.
func VendorFor(announced string, m appliance.MAC) (Vendor, bool) {
	for _, v := range vendors {
		if v.Claims(announced, m) {
			return v, true
		}
	}
	return nil, false
}

// CanRender reports whether the box can render a config for a phone that
// announced itself as announced with MAC m.
func CanRender(announced string, m appliance.MAC) bool {
	_, ok := VendorFor(announced, m)
	return ok
}

// Grandstream is the GXP phones' maker: gs_provision XML with P-values.
var Grandstream Vendor = grandstream{}

type grandstream struct{}

func (grandstream) Name() string { return "Grandstream" }

// grandstreamOUIs are the IEEE OUIs of Grandstream's NICs.
var grandstreamOUIs = [][3]byte{{0x00, 0x0B, 0x82}, {0xC0, 0x74, 0xAD}, {0xEC, 0x74, 0xD7}, {0x14, 0x4C, 0xFF}}

// Claims: a phone that says Grandstream is one; a phone that does not say
// (or says OEM) is given the benefit of the doubt when its MAC is in a
// Grandstream OUI.
func (grandstream) Claims(announced string, m appliance.MAC) bool {
	if strings.EqualFold(announced, "Grandstream") {
		return true
	}
	if announced != "" && !strings.EqualFold(announced, "OEM") {
		return false
	}
	for _, oui := range grandstreamOUIs {
		if [3]byte(m[:3]) == oui {
			return true
		}
	}
	return false
}

func (grandstream) CheckRawValues(field string, values map[string]string) error {
	return checkPValueNames(field, values)
}
