package provision

import (
	"fmt"
	"sort"
	"time"

	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/appliance/store"
)

// markSoon records that p must be written shortly; the caller holds c.mu.
func (c *Coordinator) markSoon(m appliance.MAC) {
	c.dirtySoon[m] = true
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// eventLocked queues an event for the next flush; the caller holds c.mu.
func (c *Coordinator) eventLocked(m appliance.MAC, kind, detail string) {
	c.eventAtLocked(c.now().UTC(), m, kind, detail)
}

// eventAtLocked is eventLocked for an event at t (UTC).
func (c *Coordinator) eventAtLocked(t time.Time, m appliance.MAC, kind, detail string) {
	c.eventSeq++
	delete(c.lastDownloadEvent, m) // a download after this is a new event
	c.pendingEvents = append(c.pendingEvents, appliance.Event{Seq: c.eventSeq, Time: t, MAC: m, Kind: kind, Detail: detail})
	c.trimPendingLocked()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// downloadEventLocked queues a download event for phone m, or counts it
// into m's previous download event when that one is still pending (not yet
// flushed) and says the same (same file, address, User-Agent, bytes and
// 304-ness): a phone or script downloading in a loop costs the log one
// event per flush, not one per request. detail is only read (the caller's
// buffer); the caller holds c.mu.
func (c *Coordinator) downloadEventLocked(t time.Time, m appliance.MAC, detail []byte) {
	if seq, ok := c.lastDownloadEvent[m]; ok {
		evs := c.pendingEvents
		i := sort.Search(len(evs), func(i int) bool { return evs[i].Seq >= seq })
		if i < len(evs) && evs[i].Seq == seq && evs[i].MAC == m && evs[i].Kind == appliance.EventDownload && evs[i].Detail == string(detail) {
			evs[i].Count = max(evs[i].Count, 1) + 1
			return
		}
	}
	c.eventAtLocked(t, m, appliance.EventDownload, string(detail))
	if c.lastDownloadEvent == nil {
		c.lastDownloadEvent = map[appliance.MAC]uint64{}
	}
	c.lastDownloadEvent[m] = c.eventSeq
}

// flush writes the phones changed by network traffic and the pending
// events in one transaction: the soon set always, the lazy set too when
// all is true.
//
// The lock is held to take copies, not while the disk writes: a commit
// (an fsync, milliseconds on an SD card) would otherwise stall every
// discovery and download behind it. A synchronous commit (commitLocked,
// flushLocked) waits for the flush in flight to be written first, so a
// flush never overwrites a newer record with its older copy. On failure
// the phones are marked again and the events put back.
func (c *Coordinator) flush(all bool) error {
	c.flushMu.Lock()
	defer c.flushMu.Unlock()
	c.mu.Lock()
	w := c.takeDirtyLocked(all)
	loads := c.loads
	if w.Empty() {
		c.mu.Unlock()
		return nil
	}
	done := make(chan struct{})
	c.flushing = done
	hook := c.flushHook
	c.mu.Unlock()

	if hook != nil {
		hook()
	}
	err := c.store.Apply(w)
	close(done)

	c.mu.Lock()
	defer c.mu.Unlock()
	c.flushing = nil
	if err != nil && loads == c.loads { // (after a restore they belong to no one)
		for _, p := range w.Phones {
			if all || !c.dirtyLazy[p.MAC] {
				c.dirtySoon[p.MAC] = true
			}
		}
		c.pendingEvents = append(w.Events, c.pendingEvents...)
		c.trimPendingLocked()
	}
	return c.flushResultLocked(err)
}

// takeDirtyLocked takes what flush writes: copies of the dirty phones
// (their dialogs too: a NOTIFY changes its CSeq in place) and the queued
// events, and clears both.
func (c *Coordinator) takeDirtyLocked(all bool) store.Write {
	var w store.Write
	take := func(m appliance.MAC) {
		if p := c.phones[m]; p != nil {
			cp := *p
			if p.Dialog != nil {
				d := *p.Dialog
				cp.Dialog = &d
			}
			w.Phones = append(w.Phones, cp)
		}
		delete(c.dirtySoon, m)
		delete(c.dirtyLazy, m)
	}
	for m := range c.dirtySoon {
		take(m)
	}
	if all {
		for m := range c.dirtyLazy {
			take(m)
		}
	}
	w.Events = c.pendingEvents
	c.pendingEvents = nil
	clear(c.lastDownloadEvent) // what is written is no longer counted into
	return w
}

// waitFlushLocked waits until the flush in flight, if any, has written.
// The flush does not need c.mu until then, so waiting with it held is safe.
func (c *Coordinator) waitFlushLocked() {
	if c.flushing != nil {
		<-c.flushing
	}
}

// trimPendingLocked keeps the newest events when the disk is failing.
func (c *Coordinator) trimPendingLocked() {
	const maxPending = 10000
	if len(c.pendingEvents) > maxPending {
		c.pendingEvents = c.pendingEvents[len(c.pendingEvents)-maxPending:]
	}
}

// flushResultLocked logs a flush failure once and the recovery once.
func (c *Coordinator) flushResultLocked(err error) error {
	if err != nil {
		if c.flushErr == nil {
			c.log.Error("cannot write to storage; changes kept in memory and retried", "err", err)
			c.flushErrSince = c.now().UTC()
		}
		c.flushErr = err
		return err
	}
	if c.flushErr != nil {
		c.log.Info("storage writable again")
		// The outage is history worth keeping: written with the next flush.
		c.eventLocked(appliance.MAC{}, appliance.EventError, fmt.Sprintf("storage could not be written from %s until %s (%v); changes were kept in memory and are saved now",
			c.flushErrSince.Format(time.RFC3339), c.now().UTC().Format(time.RFC3339), c.flushErr))
		c.flushErr = nil
	}
	return nil
}

// flushLocked is flush with c.mu held throughout (a restore or backup
// needs the database to hold everything before it goes on).
func (c *Coordinator) flushLocked(all bool) error {
	c.waitFlushLocked()
	var w store.Write
	set := map[appliance.MAC]bool{}
	for m := range c.dirtySoon {
		set[m] = true
	}
	if all {
		for m := range c.dirtyLazy {
			set[m] = true
		}
	}
	for m := range set {
		if p := c.phones[m]; p != nil {
			w.Phones = append(w.Phones, *p)
		}
	}
	w.Events = c.pendingEvents
	if w.Empty() {
		return nil
	}
	if err := c.store.Apply(w); err != nil {
		return c.flushResultLocked(err)
	}
	for m := range set {
		delete(c.dirtySoon, m)
		delete(c.dirtyLazy, m)
	}
	c.pendingEvents = nil
	return c.flushResultLocked(nil)
}

// flushRetry is how soon a failed flush is tried again.
const flushRetry = 2 * time.Second

// event is an event for a synchronous write; commitLocked numbers and
// dates it.
func event(m appliance.MAC, kind, detail string) appliance.Event {
	return appliance.Event{MAC: m, Kind: kind, Detail: detail}
}

// commitLocked writes w synchronously (API changes: a 2xx means fsynced),
// and queued events with it. It numbers and dates w.Events (made with
// event or stateChange) and takes the numbers only when the write
// succeeds, so a failed write leaves no gap in the sequence. The caller
// holds c.mu and applies its change to memory only when this returns nil.
func (c *Coordinator) commitLocked(w store.Write) error {
	seq := c.eventSeq
	evs := make([]appliance.Event, 0, len(c.pendingEvents)+len(w.Events))
	evs = append(evs, c.pendingEvents...)
	for _, e := range w.Events {
		seq++
		e.Seq, e.Time = seq, c.now().UTC()
		evs = append(evs, e)
	}
	w.Events = evs
	c.waitFlushLocked()
	if err := c.store.Apply(w); err != nil {
		c.log.Error("write failed", "err", err)
		return fmt.Errorf("%w: %w", ErrStorage, err)
	}
	c.eventSeq = seq
	c.pendingEvents = nil
	for _, p := range w.Phones {
		delete(c.dirtySoon, p.MAC)
		delete(c.dirtyLazy, p.MAC)
	}
	if c.flushErr != nil && len(c.dirtySoon) > 0 {
		// Storage works again: write what a failed flush left, now.
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

// EventFilter selects events for Events: by phone, after a sequence number
// or a time, newest N (the store's filter, named here so callers need not
// know the store).
type EventFilter = store.EventFilter

// Events returns stored events (flushing queued ones first).
func (c *Coordinator) Events(f EventFilter) ([]appliance.Event, error) {
	c.flush(false)
	return c.store.Events(f)
}
