package provision

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/appliance/store"
)

// takenLocked is every extension the pool must not hand out: each one
// assigned now (any account of any phone) and each one the pool handed out
// before, even if that assignment was removed since, because the phone that
// got it still holds that account until it is configured again.
func (c *Coordinator) takenLocked() map[string]bool {
	taken := make(map[string]bool, len(c.assignments)+len(c.poolIssued))
	for _, a := range c.assignments {
		taken[a.Extension] = true
		for _, acc := range a.Accounts {
			taken[acc.Extension] = true
		}
	}
	for ext := range c.poolIssued {
		taken[ext] = true
	}
	return taken
}

// poolCandidatesLocked are the phones a press may give a pool extension:
// seen, without an assignment, not denied, of a vendor the box can
// configure; in the order they first announced themselves (so extensions
// follow the order the installer plugged the phones in).
func (c *Coordinator) poolCandidatesLocked() []*appliance.Phone {
	var out []*appliance.Phone
	for m, p := range c.phones {
		if _, ok := c.assignments[m]; ok || !p.Seen() || p.Dialog == nil || p.State != appliance.StateDiscovered {
			continue
		}
		if appliance.MatchMAC(c.settings.DenyMACs, m) || !supported(p) {
			continue
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *appliance.Phone) int {
		return cmp.Or(a.FirstSeen.Compare(b.FirstSeen), strings.Compare(a.MAC.String(), b.MAC.String()))
	})
	return out
}

// grantPoolLocked gives pool candidates the next free extensions, in one
// synchronous commit, and records in sum what it did. Phones left over
// stay discovered: listed as skipped, with an event when the pool ran out.
func (c *Coordinator) grantPoolLocked(sum *Summary) error {
	pool, err := appliance.ParsePool(c.settings.ExtensionPool)
	if err != nil || len(pool) == 0 {
		return nil // validated when stored; nothing to hand out
	}
	cands := c.poolCandidatesLocked()
	if len(cands) == 0 {
		return nil
	}
	limit := len(cands)
	if n := c.settings.PoolMaxPerPress; n > 0 && n < limit {
		limit = n
	}
	taken := c.takenLocked()
	free := pool.Free(limit, func(ext string) bool { return taken[ext] })
	exhausted := len(free) < limit

	now := c.now().UTC()
	seq := c.eventSeq
	w := store.Write{Assignments: map[appliance.MAC]appliance.Assignment{}, PoolIssued: map[string]store.PoolGrant{}}
	granted := make([]appliance.Phone, 0, len(free))
	for i, ext := range free {
		p := cands[i]
		a := appliance.Assignment{Extension: ext, Password: c.cfg.NewPassword(c.settings.PoolPasswordLength)}
		np := *p
		np.State, _ = Next(np.State, TrigAssign)
		granted = append(granted, np)
		w.Phones = append(w.Phones, np)
		w.Assignments[p.MAC] = a
		w.PoolIssued[ext] = store.PoolGrant{MAC: p.MAC, Time: now}
		w.Events = append(w.Events,
			c.newEventLocked(p.MAC, appliance.EventAssigned, fmt.Sprintf("extension %s from the pool", ext)),
			c.newEventLocked(p.MAC, appliance.EventState, fmt.Sprintf("%s → %s", p.State, np.State)))
	}
	left := cands[len(free):]
	reason := fmt.Sprintf("pool_max_per_press (%d) reached; press again", c.settings.PoolMaxPerPress)
	if exhausted {
		reason = fmt.Sprintf("no free extension left in the pool %s", pool)
		for _, p := range left {
			w.Events = append(w.Events, c.newEventLocked(p.MAC, appliance.EventPool, reason+"; the phone stays discovered"))
		}
	}
	summary := fmt.Sprintf("%d extensions handed out", len(free))
	if len(free) > 0 {
		summary += fmt.Sprintf(" (%s … %s)", free[0], free[len(free)-1])
	}
	if len(left) > 0 {
		summary += fmt.Sprintf("; %d phones left without one: %s", len(left), reason)
	}
	w.Events = append(w.Events, c.newEventLocked(appliance.MAC{}, appliance.EventPool, summary))
	if err := c.commitLocked(w); err != nil {
		c.eventSeq = seq
		for _, p := range cands {
			sum.Skipped = append(sum.Skipped, Skip{MAC: p.MAC, Reason: "pool extension not stored: " + err.Error()})
		}
		return fmt.Errorf("store pool assignments: %w", err)
	}
	for _, np := range granted {
		*c.phones[np.MAC] = np
		c.assignments[np.MAC] = w.Assignments[np.MAC]
		sum.Pooled = append(sum.Pooled, Grant{MAC: np.MAC, Extension: w.Assignments[np.MAC].Extension})
	}
	maps.Copy(c.poolIssued, w.PoolIssued)
	for _, p := range left {
		sum.Skipped = append(sum.Skipped, Skip{MAC: p.MAC, Reason: reason})
	}
	c.log.Info("extension pool", "granted", len(free), "left", len(left), "exhausted", exhausted)
	return nil
}

// PoolStatus is the extension pool as the status shows it.
type PoolStatus struct {
	Range   string `json:"range"`
	Size    uint64 `json:"size"`
	Free    uint64 `json:"free"`
	Waiting int    `json:"waiting"` // discovered phones a press would give an extension
}

func (c *Coordinator) poolStatusLocked() PoolStatus {
	pool, err := appliance.ParsePool(c.settings.ExtensionPool)
	if err != nil || len(pool) == 0 {
		return PoolStatus{}
	}
	ps := PoolStatus{Range: pool.String(), Size: pool.Size(), Waiting: len(c.poolCandidatesLocked())}
	used := uint64(0)
	for ext := range c.takenLocked() {
		if pool.Contains(ext) {
			used++
		}
	}
	ps.Free = ps.Size - min(used, ps.Size)
	return ps
}
