package provision

import (
	"fmt"
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
	c.eventSeq++
	c.pendingEvents = append(c.pendingEvents, appliance.Event{Seq: c.eventSeq, Time: c.now().UTC(), MAC: m, Kind: kind, Detail: detail})
	const maxPending = 10000 // if the disk is failing, keep the newest
	if len(c.pendingEvents) > maxPending {
		c.pendingEvents = c.pendingEvents[len(c.pendingEvents)-maxPending:]
	}
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// flush writes the phones changed by network traffic and the pending
// events in one transaction: the soon set always, the lazy set too when
// all is true.
func (c *Coordinator) flush(all bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.flushLocked(all)
}

func (c *Coordinator) flushLocked(all bool) error {
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
		defer c.eventLocked(appliance.MAC{}, appliance.EventError, fmt.Sprintf("storage could not be written from %s until %s (%v); changes were kept in memory and are saved now",
			c.flushErrSince.Format(time.RFC3339), c.now().UTC().Format(time.RFC3339), c.flushErr))
		c.flushErr = nil
	}
	for m := range set {
		delete(c.dirtySoon, m)
		delete(c.dirtyLazy, m)
	}
	c.pendingEvents = nil
	return nil
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
