package provision

import (
	"net/netip"
	"slices"
	"time"

	"github.com/pnpbox/pnpbox/appliance"
)

// admissionCounts are the SUBSCRIBEs answered but not recorded (approval
// settings), kept in memory: counting them must not cost a write.
type admissionCounts struct {
	ignored, denied uint64
	recent          []IgnoredPhone // newest last, one per MAC, bounded
}

// IgnoredPhone is a phone whose SUBSCRIBE was answered but not recorded,
// so the installer can see what the approval settings keep out.
type IgnoredPhone struct {
	MAC    appliance.MAC `json:"mac"`
	Vendor string        `json:"vendor,omitempty"`
	Model  string        `json:"model,omitempty"`
	IP     netip.Addr    `json:"ip"`
	Time   time.Time     `json:"time"`
	Denied bool          `json:"denied"`
}

// maxRecentIgnored bounds the list of recently ignored phones.
const maxRecentIgnored = 20

// admitLocked applies the approval settings to a SUBSCRIBE (already
// answered by the SIP side: the phone stops retrying either way) and
// reports whether it may be recorded. A phone the box knows already
// (seen, or pre-staged with an assignment) stays in unless it is denied.
func (c *Coordinator) admitLocked(d appliance.Discovery) bool {
	switch c.settings.Admit(d.MAC, c.phones[d.MAC] != nil) {
	case appliance.AdmitRecord:
		return true
	case appliance.AdmitDeny:
		c.admission.denied++
		c.noteIgnoredLocked(d, true)
	default:
		c.admission.ignored++
		c.noteIgnoredLocked(d, false)
	}
	return false
}

func (c *Coordinator) noteIgnoredLocked(d appliance.Discovery, denied bool) {
	r := c.admission.recent
	before := len(r)
	r = slices.DeleteFunc(r, func(ip IgnoredPhone) bool { return ip.MAC == d.MAC })
	if len(r) == before { // a phone not in the list yet: log it once, not every retry
		c.log.Debug("SUBSCRIBE not recorded", "mac", d.MAC.String(), "ip", d.Source.Addr().String(), "denied", denied)
	}
	r = append(r, IgnoredPhone{MAC: d.MAC, Vendor: d.Vendor, Model: d.Model, IP: d.Source.Addr(), Time: c.now().UTC(), Denied: denied})
	if len(r) > maxRecentIgnored {
		r = r[len(r)-maxRecentIgnored:]
	}
	c.admission.recent = r
}
