package provision

import (
	"testing"

	"github.com/pnpbox/pnpbox/appliance"
)

func TestNext(t *testing.T) {
	const (
		disc = appliance.StateDiscovered
		asg  = appliance.StateAssigned
		ntf  = appliance.StateNotified
		dl   = appliance.StateDownloaded
		prov = appliance.StateProvisioned
		fail = appliance.StateFailed
	)
	type row struct {
		from appliance.State
		trig Trigger
		to   appliance.State
		ok   bool
	}
	// Every state × every trigger, so a new state or trigger cannot slip
	// through untested.
	tests := []row{
		{disc, TrigAssign, asg, true}, {asg, TrigAssign, asg, true}, {ntf, TrigAssign, asg, true},
		{dl, TrigAssign, asg, true}, {prov, TrigAssign, asg, true}, {fail, TrigAssign, asg, true},

		{disc, TrigUnassign, disc, true}, {asg, TrigUnassign, disc, true}, {ntf, TrigUnassign, disc, true},
		{dl, TrigUnassign, disc, true}, {prov, TrigUnassign, disc, true}, {fail, TrigUnassign, disc, true},

		{disc, TrigNotifySent, disc, false}, {asg, TrigNotifySent, asg, true}, {ntf, TrigNotifySent, ntf, true},
		{dl, TrigNotifySent, asg, true}, {prov, TrigNotifySent, asg, true}, {fail, TrigNotifySent, fail, true},

		// The download can beat the 200 to the box: a late 2xx must not
		// undo it (found by the netns fleet test).
		{disc, TrigNotifyOK, disc, false}, {asg, TrigNotifyOK, ntf, true}, {ntf, TrigNotifyOK, ntf, true},
		{dl, TrigNotifyOK, dl, true}, {prov, TrigNotifyOK, prov, true}, {fail, TrigNotifyOK, ntf, true},

		{disc, TrigNotifyFailed, disc, false}, {asg, TrigNotifyFailed, fail, true}, {ntf, TrigNotifyFailed, fail, true},
		{dl, TrigNotifyFailed, dl, true}, {prov, TrigNotifyFailed, prov, true}, {fail, TrigNotifyFailed, fail, true},

		{disc, TrigDownload, disc, false}, {asg, TrigDownload, dl, true}, {ntf, TrigDownload, dl, true},
		{dl, TrigDownload, prov, true}, {prov, TrigDownload, prov, true}, {fail, TrigDownload, dl, true},
	}
	seen := map[appliance.State]map[Trigger]bool{}
	for _, tt := range tests {
		got, ok := Next(tt.from, tt.trig)
		if got != tt.to || ok != tt.ok {
			t.Errorf("Next(%s, %s) = %s, %v; want %s, %v", tt.from, tt.trig, got, ok, tt.to, tt.ok)
		}
		if seen[tt.from] == nil {
			seen[tt.from] = map[Trigger]bool{}
		}
		seen[tt.from][tt.trig] = true
	}
	for _, s := range appliance.States {
		for _, tr := range []Trigger{TrigAssign, TrigUnassign, TrigNotifySent, TrigNotifyOK, TrigNotifyFailed, TrigDownload} {
			if !seen[s][tr] {
				t.Errorf("no test for %s × %s", s, tr)
			}
		}
	}
}
