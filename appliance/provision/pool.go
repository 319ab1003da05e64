package provision

import (
	"fmt"
	"maps"
	"slices"

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

// poolCandidatesLocked are the phones a press may give a pool extension
// (IsPoolCandidate), in the order they first announced themselves.
func (c *Coordinator) poolCandidatesLocked() []*appliance.Phone {
	var out []*appliance.Phone
	for m, p := range c.phones {
		if _, assigned := c.assignments[m]; IsPoolCandidate(p, assigned, c.settings) {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, byFirstSeen)
	return out
}

// grantPoolLocked carries out PlanPool for the pool candidates, in one
// synchronous commit, and records in sum what it did. Phones left over
// stay discovered: listed as skipped, with a pool event when the pool ran
// out; noted are the phones that got that event.
func (c *Coordinator) grantPoolLocked(sum *Summary) (noted map[appliance.MAC]bool, err error) {
	pool, perr := appliance.ParsePool(c.settings.ExtensionPool)
	if perr != nil || len(pool) == 0 {
		return nil, nil // validated when stored; nothing to hand out
	}
	cands := c.poolCandidatesLocked()
	if len(cands) == 0 {
		return nil, nil
	}
	macs := make([]appliance.MAC, len(cands))
	for i, p := range cands {
		macs[i] = p.MAC
	}
	taken := c.takenLocked()
	plan := PlanPool(pool, macs, c.settings.PoolMaxPerPress, func(ext string) bool { return taken[ext] })

	now := c.now().UTC()
	w := store.Write{Assignments: map[appliance.MAC]appliance.Assignment{}, PoolIssued: map[string]store.PoolGrant{}}
	granted := make([]appliance.Phone, 0, len(plan.Grants))
	for _, g := range plan.Grants {
		a := appliance.Assignment{Extension: g.Extension, Password: c.cfg.NewPassword(c.settings.PoolPasswordLength)}
		np, evs := c.assignedPhoneLocked(g.MAC, fmt.Sprintf("extension %s from the pool", g.Extension), nil)
		granted = append(granted, np)
		w.Phones = append(w.Phones, np)
		w.Assignments[g.MAC] = a
		w.PoolIssued[g.Extension] = store.PoolGrant{MAC: g.MAC, Time: now}
		w.Events = append(w.Events, evs...)
	}
	if plan.Exhausted {
		for _, m := range plan.Left {
			w.Events = append(w.Events, event(m, appliance.EventPool, plan.Reason+"; the phone stays discovered"))
		}
	}
	w.Events = append(w.Events, event(appliance.MAC{}, appliance.EventPool, plan.Summary()))
	if err := c.commitLocked(w); err != nil {
		for _, m := range macs {
			sum.Skipped = append(sum.Skipped, Skip{MAC: m, Reason: "pool extension not stored: " + err.Error()})
		}
		return nil, fmt.Errorf("store pool assignments: %w", err)
	}
	for _, np := range granted {
		c.putPhoneLocked(np)
		c.setAssignmentLocked(np.MAC, w.Assignments[np.MAC])
		sum.Pooled = append(sum.Pooled, Grant{MAC: np.MAC, Extension: w.Assignments[np.MAC].Extension})
	}
	maps.Copy(c.poolIssued, w.PoolIssued)
	c.gen++
	noted = map[appliance.MAC]bool{}
	for _, m := range plan.Left {
		sum.Skipped = append(sum.Skipped, Skip{MAC: m, Reason: plan.Reason})
		noted[m] = plan.Exhausted
	}
	c.log.Info("extension pool", "granted", len(plan.Grants), "left", len(plan.Left), "exhausted", plan.Exhausted)
	return noted, nil
}

// PoolStatus is the extension pool as the status shows it.
type PoolStatus struct {
	Range   string `json:"range"`
	Size    uint64 `json:"size"`
	Free    uint64 `json:"free"`
	Waiting int    `json:"waiting"` // discovered phones a press would give an extension
}

// poolStatusLocked is the pool as Status shows it. Size and Free change
// only with the assignments, the settings or the pool's history, so they
// are computed once per change (c.gen); Waiting is counted each time.
func (c *Coordinator) poolStatusLocked() PoolStatus {
	if c.poolCache.gen != c.gen {
		c.poolCache.gen, c.poolCache.ps = c.gen, PoolStatus{}
		if pool, err := appliance.ParsePool(c.settings.ExtensionPool); err == nil && len(pool) > 0 {
			ps := PoolStatus{Range: pool.String(), Size: pool.Size()}
			used := uint64(0)
			for ext := range c.takenLocked() {
				if pool.Contains(ext) {
					used++
				}
			}
			ps.Free = ps.Size - min(used, ps.Size)
			c.poolCache.ps = ps
		}
	}
	ps := c.poolCache.ps
	if ps.Size == 0 {
		return ps
	}
	for m, p := range c.phones {
		if _, assigned := c.assignments[m]; IsPoolCandidate(p, assigned, c.settings) {
			ps.Waiting++
		}
	}
	return ps
}
