package profile

import (
	"strings"

	"github.com/pnpbox/pnpbox/appliance"
)

// UserAgentMAC returns the MAC a config download's User-Agent names, and
// false when it names none. Grandstream phones send
// "Grandstream Model HW GXP2140 SW 1.0.11.3 DevId 000b82f30002": the MAC
// follows "DevId" as 12 hex digits (cmd/phonesim sends the same; FusionPBX's
// and Wazo's Grandstream handlers read the MAC from the same place).
// Older firmware, curl and browsers name no MAC.
func UserAgentMAC(ua string) (appliance.MAC, bool) {
	f := strings.Fields(ua)
	for i := 0; i+1 < len(f); i++ {
		if !strings.EqualFold(f[i], "DevId") {
			continue
		}
		v := strings.TrimRight(f[i+1], ";,)")
		if len(v) != 12 {
			return appliance.MAC{}, false
		}
		m, err := appliance.ParseMAC(v)
		if err != nil {
			return appliance.MAC{}, false
		}
		return m, true
	}
	return appliance.MAC{}, false
}
