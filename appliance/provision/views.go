package provision

import (
	"net/netip"
	"slices"
	"time"

	"github.com/pnpbox/pnpbox/appliance"
)

// Entry is one phone as the API and status page see it: copies, safe to
// keep. ConfigURL holds the phone's token: admin-only.
type Entry struct {
	Phone      appliance.Phone
	Assignment *appliance.Assignment
	ConfigURL  string
	InFlight   bool
}

// Phones returns every phone the box knows, seen or pre-staged, by MAC.
func (c *Coordinator) Phones() []Entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Entry, 0, len(c.phones))
	for _, m := range c.sortedMACsLocked() {
		out = append(out, c.entryLocked(c.phones[m]))
	}
	return out
}

// Phone returns one phone.
func (c *Coordinator) Phone(m appliance.MAC) (Entry, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.phones[m]
	if p == nil {
		return Entry{}, ErrNotFound
	}
	return c.entryLocked(p), nil
}

func (c *Coordinator) entryLocked(p *appliance.Phone) Entry {
	e := Entry{Phone: *p, InFlight: c.inflight[p.MAC]}
	if p.Dialog != nil {
		d := *p.Dialog
		e.Phone.Dialog = &d
	}
	if a, ok := c.assignments[p.MAC]; ok {
		e.Assignment = &a
	}
	var local netip.Addr
	if p.IP.IsValid() {
		local, _, _ = c.cfg.Notifier.LocalAddrFor(p.IP)
	}
	if !local.IsValid() {
		local = c.anyLocalAddrLocked()
	}
	if local.IsValid() {
		e.ConfigURL = c.configURLLocked(p, local)
	}
	return e
}

// anyLocalAddrLocked is the box address for phones not seen yet.
func (c *Coordinator) anyLocalAddrLocked() netip.Addr {
	if l, ok := c.cfg.Notifier.(interface{ FirstAddr() netip.Addr }); ok {
		return l.FirstAddr()
	}
	return netip.Addr{}
}

// Status is the coordinator's part of /api/status and of the LED.
type Status struct {
	Counts map[appliance.State]int
	// Pending are phones waiting for a press (or their SUBSCRIBE): assigned
	// or failed, and discovered ones the pool has an extension for.
	Pending int
	Busy    int   // NOTIFY in flight, or a download awaited
	Storage error // last flush failure
	Total   int
	Commits uint64
	Queue   int
	Alerts  []appliance.Alert // not yet acknowledged: the LED shows error
	Intake  IntakeStatus
	Pool    PoolStatus
}

// IntakeStatus counts the SUBSCRIBEs the approval settings kept out since
// start, and lists the latest phones they came from.
type IntakeStatus struct {
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
		Intake: IntakeStatus{Ignored: c.intake.ignored, Denied: c.intake.denied, Recent: slices.Clone(c.intake.recent)},
		Pool:   c.poolStatusLocked()}
	if st.Intake.Recent == nil {
		st.Intake.Recent = []IgnoredPhone{}
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
