package provision

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/appliance/profile"
)

// The coordinator's decisions, each a pure function of the facts it
// weighs: the one definition the press, auto mode, the LED and the API
// all use.

// staleNotified is how long a phone may sit in notified (it accepted the
// NOTIFY but never fetched its config) before a press tries again.
const staleNotified = 5 * time.Minute

// IsPending reports whether p waits to be sent its NOTIFY (DESIGN.md:
// "has an assignment and is not yet provisioned"): it has an assignment
// and is assigned or failed, or was notified longer than five minutes
// before now without fetching its config. Whether it can be sent one now
// is MayNotify's question.
func IsPending(p *appliance.Phone, assigned bool, now time.Time) bool {
	if !assigned {
		return false
	}
	switch p.State {
	case appliance.StateAssigned, appliance.StateFailed:
		return true
	case appliance.StateNotified:
		return now.Sub(p.NotifiedAt) > staleNotified
	}
	return false
}

// MayNotify says why p cannot be sent a NOTIFY now, or nil. a is p's
// assignment (nil: none), inFlight whether a NOTIFY to p is unanswered
// yet, site the settings. The reasons, in the order checked, wrap
// ErrNoAssignment, ErrDisplaced, ErrNotSeen, ErrBusy, ErrDenied,
// ErrUnsupported, ErrNoSIPServer and ErrCannotRender.
func MayNotify(p *appliance.Phone, a *appliance.Assignment, inFlight bool, site appliance.Settings) error {
	return mayNotify(p, a, inFlight, site, func() error { return CheckRender(p, *a, site) })
}

// mayNotify is MayNotify with the render check given: checkRender answers
// CheckRender(p, *a, site), asked only when every other condition holds
// (the coordinator answers it from its last check: rendercheck.go).
func mayNotify(p *appliance.Phone, a *appliance.Assignment, inFlight bool, site appliance.Settings, checkRender func() error) error {
	switch {
	case a == nil:
		return ErrNoAssignment
	case p.Displaced != nil:
		return fmt.Errorf("%w: %s announced itself from %s, this phone's last address; it is notified once it announces itself again",
			ErrDisplaced, p.Displaced.By, p.Displaced.Addr)
	case !p.Seen() || p.Dialog == nil:
		return ErrNotSeen
	case inFlight:
		return ErrBusy
	case appliance.MatchMAC(site.DenyMACs, p.MAC):
		return ErrDenied
	case !profile.CanRender(p.Vendor, p.MAC):
		return fmt.Errorf("%w: %s", ErrUnsupported, p.Vendor)
	case a.SIPServer == "" && site.SIPServer == "":
		// The phone would download a config it cannot register with.
		return ErrNoSIPServer
	}
	if err := checkRender(); err != nil {
		// The phone would be told to fetch a file the box cannot write.
		return fmt.Errorf("%w: %v", ErrCannotRender, err)
	}
	return nil
}

// ErrCannotRender is MayNotify's reason for a phone whose config cannot
// be rendered (the renderer's *appliance.FieldError follows it).
var ErrCannotRender = errors.New("its config cannot be rendered")

// CheckRender runs the renderer's own check (profile.Check) on the config
// phone p would download with assignment a under site: the check every
// door (API, CSV import, settings) and MayNotify share. p may be a phone
// the box has not seen (only MAC and Model count then). The error is a
// *appliance.FieldError naming the field.
func CheckRender(p *appliance.Phone, a appliance.Assignment, site appliance.Settings) error {
	model, admin := renderInputs(p, a, site)
	// The config server path is the box's own address in the real file;
	// any valid one does for the check.
	return profile.Check(profile.Input{MAC: p.MAC, Model: model, Assignment: a, Site: site.PhoneSettings,
		ConfigServerPath: "198.18.0.1:80/p/check", AdminPassword: admin, BoxProtocols: BoxConfigProtocols()})
}

// IsPoolCandidate reports whether a press may give p an extension from
// the pool: seen, discovered without an assignment, not denied, of a
// vendor the box can configure.
func IsPoolCandidate(p *appliance.Phone, assigned bool, site appliance.Settings) bool {
	return !assigned && p.Seen() && p.Dialog != nil && p.State == appliance.StateDiscovered &&
		!appliance.MatchMAC(site.DenyMACs, p.MAC) && profile.CanRender(p.Vendor, p.MAC)
}

// byFirstSeen orders pool candidates as they first announced themselves,
// so extensions follow the order the installer plugged the phones in.
func byFirstSeen(a, b *appliance.Phone) int {
	return cmp.Or(a.FirstSeen.Compare(b.FirstSeen), strings.Compare(a.MAC.String(), b.MAC.String()))
}

// PoolPlan is what one press does with the extension pool.
type PoolPlan struct {
	// Grants pair candidates with free extensions, in candidate order.
	Grants []Grant
	// Left are the candidates that get none this time, and Reason why.
	Left   []appliance.MAC
	Reason string
	// Exhausted is true when the pool ran out (rather than the per-press
	// cap being reached).
	Exhausted bool
}

// PlanPool hands the next free extensions of pool (taken reports those
// already held) to candidates in order, at most maxPerPress of them when
// it is above zero.
func PlanPool(pool appliance.Pool, candidates []appliance.MAC, maxPerPress int, taken func(ext string) bool) PoolPlan {
	limit := len(candidates)
	if maxPerPress > 0 && maxPerPress < limit {
		limit = maxPerPress
	}
	free := pool.Free(limit, taken)
	plan := PoolPlan{Exhausted: len(free) < limit, Left: slices.Clone(candidates[len(free):])}
	for i, ext := range free {
		plan.Grants = append(plan.Grants, Grant{MAC: candidates[i], Extension: ext})
	}
	plan.Reason = fmt.Sprintf("pool_max_per_press (%d) reached; press again", maxPerPress)
	if plan.Exhausted {
		plan.Reason = fmt.Sprintf("no free extension left in the pool %s", pool)
	}
	return plan
}

// Summary says what the plan does, for the event log.
func (p PoolPlan) Summary() string {
	s := fmt.Sprintf("%d extensions handed out", len(p.Grants))
	if n := len(p.Grants); n > 0 {
		s += fmt.Sprintf(" (%s … %s)", p.Grants[0].Extension, p.Grants[n-1].Extension)
	}
	if len(p.Left) > 0 {
		s += fmt.Sprintf("; %d phones left without one: %s", len(p.Left), p.Reason)
	}
	return s
}

// ExtensionIndex is which phones hold each account, keyed by SIP server
// (the site's when an assignment names none) and extension: one
// extension on two PBXs is two accounts.
type ExtensionIndex map[string][]appliance.MAC

// IndexExtensions indexes every account of assignments under site.
func IndexExtensions(assignments map[appliance.MAC]appliance.Assignment, site appliance.Settings) ExtensionIndex {
	ix := ExtensionIndex{}
	for m, a := range assignments {
		for _, k := range extensionKeys(a, site) {
			if !slices.Contains(ix[k], m) {
				ix[k] = append(ix[k], m)
			}
		}
	}
	for k := range ix {
		slices.SortFunc(ix[k], func(a, b appliance.MAC) int { return strings.Compare(a.String(), b.String()) })
	}
	return ix
}

// SharedExtensions is the one rule on extensions several phones hold,
// for the API, the CSV import and the page alike: allowed (many PBXs
// ring every phone registered on one extension), with a warning for each
// account of phone m (assignment a, indexed in ix) that another phone
// also holds. nil when none is shared.
func (ix ExtensionIndex) SharedExtensions(m appliance.MAC, a appliance.Assignment, site appliance.Settings) []string {
	var out []string
	for i, k := range extensionKeys(a, site) {
		var others []string
		for _, o := range ix[k] {
			if o != m {
				others = append(others, o.String())
			}
		}
		if len(others) == 0 {
			continue
		}
		what := "extension " + a.Extension
		if i > 0 {
			what = fmt.Sprintf("extension %s (account %d)", a.Accounts[i-1].Extension, i+1)
		}
		out = append(out, fmt.Sprintf("%s is also assigned to %s: allowed, every phone on it rings", what, strings.Join(others, ", ")))
	}
	return out
}

// ExtensionWarnings are SharedExtensions for phone m as stored now: what
// the API answers after an assignment (nil when m has none).
func (c *Coordinator) ExtensionWarnings(m appliance.MAC) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.assignments[m]
	if !ok {
		return nil
	}
	return IndexExtensions(c.assignments, c.settings).SharedExtensions(m, a, c.settings)
}

// URLFormHint is what the box says about a phone that answered its NOTIFY
// with 2xx and has not fetched its config since (a firmware that does
// not take the URL form it was sent ignores the NOTIFY silently:
// docs/models.md): the other form, and how to choose it. form is the form
// p was sent. "" when p is not such a phone.
func URLFormHint(p *appliance.Phone, form string) string {
	if p.State != appliance.StateNotified || p.LastNotify == nil || p.LastNotify.Result != appliance.NotifyOK {
		return ""
	}
	if d := p.LastDownload; d != nil && !d.Time.Before(p.NotifiedAt) {
		return ""
	}
	other := appliance.URLFormFolder
	if form == appliance.URLFormFolder {
		other = appliance.URLFormFile
	}
	return fmt.Sprintf("accepted the NOTIFY but has not fetched its config: its firmware may want the %s URL form instead of %s; "+
		`set "notify_url_form":%q on its assignment (or in the settings for every phone)`, other, form, other)
}
