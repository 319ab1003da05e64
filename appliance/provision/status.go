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

// Status counts phones per state. The LED asks four times a second, so
// it holds the lock only for what it must read: the per-state counts are
// kept as phones move, the pool's free count is cached until the
// assignments or settings change, and the walk over the phones for busy
// and pending allocates nothing.
func (c *Coordinator) Status() Status {
	c.mu.Lock()
	st := Status{Counts: make(map[appliance.State]int, len(appliance.States)), Storage: c.flushErr, Total: len(c.phones),
		Queue: len(c.queue), Alerts: slices.Clone(c.alerts),
		Admission: AdmissionStatus{Ignored: c.admission.ignored, Denied: c.admission.denied, Recent: slices.Clone(c.admission.recent)},
		Pool:      c.poolStatusLocked()}
	for _, s := range appliance.States {
		st.Counts[s] = c.counts[s]
	}
	now := c.now()
	for m, p := range c.phones {
		switch {
		case c.inflight[m]:
			st.Busy++
		case p.State == appliance.StateNotified && now.Sub(p.NotifiedAt) < busyWindow:
			st.Busy++
		case p.State == appliance.StateDownloaded && p.LastDownload != nil && now.Sub(p.LastDownload.Time) < busyWindow:
			st.Busy++
		default:
			if _, assigned := c.assignments[m]; IsPending(p, assigned, now) {
				st.Pending++
			}
		}
	}
	c.mu.Unlock()
	st.Commits = c.store.Commits()
	if st.Admission.Recent == nil {
		st.Admission.Recent = []IgnoredPhone{}
	}
	st.Pending += int(min(uint64(st.Pool.Waiting), st.Pool.Free)) // at most Waiting: fits an int
	return st
}
