package provision

import (
	"slices"
	"time"

	"github.com/pnpbox/pnpbox/appliance"
)

// Status is the coordinator's part of /api/status and of the LED.
type Status struct {
	Counts map[appliance.State]int
	// Pending are phones waiting for a press (or their SUBSCRIBE): assigned
	// or failed, and discovered ones the pool has an extension for.
	Pending   int
	Busy      int   // NOTIFY in flight, or a download awaited
	Storage   error // last flush failure
	Total     int
	Commits   uint64
	Queue     int
	Alerts    []appliance.Alert // not yet acknowledged: the LED shows error
	Admission AdmissionStatus
	Pool      PoolStatus
}

// AdmissionStatus counts the SUBSCRIBEs the approval settings kept out since
// start, and lists the latest phones they came from.
type AdmissionStatus struct {
	Ignored uint64         `json:"ignored"`
	Denied  uint64         `json:"denied"`
	Recent  []IgnoredPhone `json:"recent"`
}

// busyWindow is how long after a NOTIFY or first download the box counts a
// phone as "downloads awaited" for the LED.
const busyWindow = 10 * time.Minute

// Status counts phones per state.
func (c *Coordinator) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := Status{Counts: map[appliance.State]int{}, Storage: c.flushErr, Total: len(c.phones),
		Commits: c.store.Commits(), Queue: len(c.queue), Alerts: slices.Clone(c.alerts),
		Admission: AdmissionStatus{Ignored: c.admission.ignored, Denied: c.admission.denied, Recent: slices.Clone(c.admission.recent)},
		Pool:      c.poolStatusLocked()}
	if st.Admission.Recent == nil {
		st.Admission.Recent = []IgnoredPhone{}
	}
	for _, s := range appliance.States {
		st.Counts[s] = 0
	}
	now := c.now()
	for m, p := range c.phones {
		st.Counts[p.State]++
		switch {
		case c.inflight[m]:
			st.Busy++
		case p.State == appliance.StateNotified && now.Sub(p.NotifiedAt) < busyWindow:
			st.Busy++
		case p.State == appliance.StateDownloaded && p.LastDownload != nil && now.Sub(p.LastDownload.Time) < busyWindow:
			st.Busy++
		case p.State == appliance.StateAssigned || p.State == appliance.StateFailed:
			if _, ok := c.assignments[m]; ok {
				st.Pending++
			}
		}
	}
	st.Pending += int(min(uint64(st.Pool.Waiting), st.Pool.Free)) // at most Waiting: fits an int
	return st
}
