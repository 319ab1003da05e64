package provision

import "github.com/pnpbox/pnpbox/appliance"

// Trigger is something that happens to a phone.
type Trigger string

// The triggers of the state machine.
const (
	TrigAssign       Trigger = "assign"        // an assignment was added or changed
	TrigUnassign     Trigger = "unassign"      // the assignment was removed
	TrigNotifySent   Trigger = "notify_sent"   // a NOTIFY went out (a new provisioning round)
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
// changes, and to discovered when it is removed. Sending a NOTIFY to a
// phone that already has its config (a forced re-provision) starts a new
// round: it goes back to assigned, so its next downloads count again.
//
// The phone's answer to the NOTIFY and its download race: a phone may fetch
// its config before the box has seen its 200. So a NOTIFY outcome that
// arrives when the phone has already downloaded leaves it where it is —
// the phone evidently got the URL. A download without a NOTIFY (an
// installer fetching config_url by hand) counts like one after a NOTIFY.
// ok is false when the trigger does not apply in s (the caller refuses or
// ignores it).
func Next(s appliance.State, t Trigger) (next appliance.State, ok bool) {
	switch t {
	case TrigAssign:
		return appliance.StateAssigned, true
	case TrigUnassign:
		return appliance.StateDiscovered, true
	case TrigNotifySent:
		switch s {
		case appliance.StateDiscovered:
			return s, false
		case appliance.StateDownloaded, appliance.StateProvisioned:
			return appliance.StateAssigned, true
		}
		return s, true
	case TrigNotifyOK:
		switch s {
		case appliance.StateDiscovered:
			return s, false
		case appliance.StateDownloaded, appliance.StateProvisioned:
			return s, true
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
