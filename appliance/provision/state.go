package provision

import "github.com/pnpbox/pnpbox/appliance"

// Trigger is something that happens to a phone.
type Trigger string

// The triggers of the state machine.
const (
	TrigAssign       Trigger = "assign"        // an assignment was added or changed
	TrigUnassign     Trigger = "unassign"      // the assignment was removed
	TrigNotifyOK     Trigger = "notify_ok"     // the phone answered our NOTIFY with 2xx
	TrigNotifyFailed Trigger = "notify_failed" // refused, unanswered or unsendable
	TrigDownload     Trigger = "download"      // the phone fetched its config
)

// Next is the phone state machine (DESIGN.md "Phone states"):
//
//	discovered ─assign→ assigned ─notify_ok→ notified ─download→ downloaded ─download→ provisioned
//	                       └─notify_failed→ failed ─notify_ok→ notified
//
// Any state with an assignment goes back to assigned when the assignment
// changes, and to discovered when it is removed. A failed NOTIFY to a phone
// that already has its config (downloaded, provisioned) leaves it there:
// the failure is recorded on the phone, but the phone is still configured.
// A download without a NOTIFY (an installer fetching config_url by hand)
// counts like one after a NOTIFY. ok is false when the trigger does not
// apply in s (the caller refuses or ignores it).
func Next(s appliance.State, t Trigger) (next appliance.State, ok bool) {
	switch t {
	case TrigAssign:
		return appliance.StateAssigned, true
	case TrigUnassign:
		return appliance.StateDiscovered, true
	case TrigNotifyOK:
		if s == appliance.StateDiscovered {
			return s, false
		}
		return appliance.StateNotified, true
	case TrigNotifyFailed:
		switch s {
		case appliance.StateAssigned, appliance.StateNotified, appliance.StateFailed:
			return appliance.StateFailed, true
		case appliance.StateDownloaded, appliance.StateProvisioned:
			return s, true
		}
		return s, false
	case TrigDownload:
		switch s {
		case appliance.StateAssigned, appliance.StateNotified, appliance.StateFailed:
			return appliance.StateDownloaded, true
		case appliance.StateDownloaded, appliance.StateProvisioned:
			return appliance.StateProvisioned, true
		}
		return s, false
	}
	return s, false
}
