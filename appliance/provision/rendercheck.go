package provision

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pnpbox/pnpbox/appliance"
)

// A press asks MayNotify of every pending phone, and MayNotify's last and
// costliest question is CheckRender: a dry render of the phone's config
// (tens of µs; the rest of MayNotify is a few map lookups). Its answer
// only changes with its inputs, so the coordinator keeps the latest one
// per phone (checks) and asks the renderer again only when an input
// changed. A press then costs a render check only for phones whose
// assignment, settings, model or admin password changed since their last
// check; the door's own checks (an assignment through the API, a
// settings change) leave their answers behind, so the press after them
// checks nothing again.

// renderVerdict is CheckRender's answer for one phone and the inputs it
// was reached with that the coordinator does not track itself: the model
// and the phone admin password the config was checked with (a phone
// reports its model when it announces itself; the admin password is the
// site's or the phone's own). The phone's assignment and the site
// settings are the other inputs: a verdict is dropped when the
// assignment changes (setAssignmentLocked, deleteAssignmentLocked) and
// all are dropped when the settings change or the state is reloaded.
type renderVerdict struct {
	model, admin string
	err          error
}

// renderInputs are the model and admin password CheckRender checks p's
// config with (a is p's assignment, site the settings).
func renderInputs(p *appliance.Phone, a appliance.Assignment, site appliance.Settings) (model, admin string) {
	model = p.Model
	if model == "" {
		model = a.Model
	}
	admin = site.PhoneAdminPassword
	if admin == "" {
		admin = p.AdminPassword
	}
	return model, admin
}

// checkRenderLocked is CheckRender(p, a, c.settings), answered from the
// last check of p when none of its inputs changed since; a is p's
// assignment as stored (c.assignments[p.MAC]). The caller holds c.mu.
func (c *Coordinator) checkRenderLocked(p *appliance.Phone, a appliance.Assignment) error {
	if v, ok := c.verdictLocked(p, a); ok {
		return v.err
	}
	err := CheckRender(p, a, c.settings)
	c.rememberCheckLocked(p, a, err)
	return err
}

// verdictLocked is p's last render check if it was made with p's current
// inputs (a is p's assignment as stored).
func (c *Coordinator) verdictLocked(p *appliance.Phone, a appliance.Assignment) (renderVerdict, bool) {
	model, admin := renderInputs(p, a, c.settings)
	v, ok := c.checks[p.MAC]
	return v, ok && v.model == model && v.admin == admin
}

// rememberCheckLocked records err as CheckRender(p, a, c.settings): the
// caller has just run exactly that check (p may be a stand-in for a phone
// not seen yet, with only its MAC and model) and a is p's assignment as
// stored now.
func (c *Coordinator) rememberCheckLocked(p *appliance.Phone, a appliance.Assignment, err error) {
	if c.checks == nil {
		c.checks = map[appliance.MAC]renderVerdict{}
	}
	model, admin := renderInputs(p, a, c.settings)
	c.checks[p.MAC] = renderVerdict{model: model, admin: admin, err: err}
}

// checkPendingLocked runs the render check of every phone in ms that a
// press would send a NOTIFY to and has no current answer for, on every
// core, and remembers the answers: the press that follows finds them all.
// The first press after an import checks every pending phone; on one core
// under the lock that was most of its time. The caller holds c.mu, which
// keeps the phones, assignments and settings the checks read unchanged
// while they run (CheckRender only reads them).
func (c *Coordinator) checkPendingLocked(ms []appliance.MAC, now time.Time) {
	type job struct {
		p   *appliance.Phone
		a   appliance.Assignment
		err error
	}
	var jobs []job
	for _, m := range ms {
		p := c.phones[m]
		a, assigned := c.assignments[m]
		if !IsPending(p, assigned, now) {
			continue
		}
		// MayNotify asks for the render check only when everything else
		// allows the NOTIFY; answered from the last check, it is not asked.
		mayNotify(p, &a, c.inflight[m], c.settings, func() error {
			if _, ok := c.verdictLocked(p, a); !ok {
				jobs = append(jobs, job{p: p, a: a})
			}
			return nil
		})
	}
	const perWorker = 32 // below this, starting a goroutine costs more than it saves
	workers := min(runtime.GOMAXPROCS(0), len(jobs)/perWorker)
	if workers < 2 {
		return // the press checks them itself
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < len(jobs); i = int(next.Add(1)) - 1 {
				jobs[i].err = CheckRender(jobs[i].p, jobs[i].a, c.settings)
			}
		})
	}
	wg.Wait()
	for _, j := range jobs {
		c.rememberCheckLocked(j.p, j.a, j.err)
	}
}
