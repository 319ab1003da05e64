// Package provision is the coordinator: it owns the phones' states and
// moves them (DESIGN.md "Phone states"), decides when a phone is sent its
// NOTIFY (button, page, API or auto mode; failed phones again on their next
// SUBSCRIBE), serves config files to phones holding a valid token, and
// decides what is written to the store when.
//
// All state lives in memory, loaded from the store at start. Changes made
// through the API are written synchronously (a 2xx means fsynced);
// changes caused by network traffic (discoveries, last-seen, NOTIFY
// outcomes, downloads) are coalesced and flushed shortly after, in one
// transaction, so no packet rate can drive the commit rate.
package provision

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/appliance/pnp"
	"github.com/pnpbox/pnpbox/appliance/profile"
	"github.com/pnpbox/pnpbox/appliance/store"
)

// Errors callers branch on (the API maps them to status codes).
var (
	ErrNotFound     = errors.New("not found")
	ErrNoAssignment = errors.New("phone has no assignment")
	ErrNotSeen      = errors.New("phone has not announced itself yet")
	ErrBusy         = errors.New("a NOTIFY to this phone is already in flight")
	ErrUnsupported  = errors.New("vendor not supported yet")
	ErrNoSIPServer  = errors.New("no SIP server to register with: set sip_server in the settings or in the phone's assignment")
	ErrStorage      = errors.New("storage failure")
	ErrDenied       = errors.New("this MAC is on the deny list (deny_macs)")
)

// Notifier sends NOTIFYs; *pnp.Server implements it.
type Notifier interface {
	Notify(ctx context.Context, d appliance.Dialog, cseq uint32, url string) appliance.Notify
	LocalAddrFor(ip netip.Addr) (local netip.Addr, iface string, ok bool)
}

// Config configures a Coordinator.
type Config struct {
	Store    *store.Store
	Notifier Notifier
	Log      *slog.Logger
	// HTTPPort is the port phones fetch configs from (in NOTIFY URLs).
	HTTPPort int
	// Now and NewToken default to time.Now and 128 random bits in hex;
	// NewPassword (pool SIP passwords of n characters) to crypto/rand.
	Now         func() time.Time
	NewToken    func() string
	NewPassword func(n int) string
	// FlushDelay bounds how long a state change caused by the network waits
	// before it is written (default 250 ms); RefreshInterval how long
	// last-seen refreshes wait (default 30 s).
	FlushDelay      time.Duration
	RefreshInterval time.Duration
	// QueueSize bounds discoveries waiting to be processed (default 4096).
	QueueSize int
}

// Coordinator is safe for concurrent use.
type Coordinator struct {
	cfg   Config
	log   *slog.Logger
	store *store.Store
	now   func() time.Time

	queue chan pnp.Discovery
	wake  chan struct{}

	mu          sync.Mutex
	phones      map[appliance.MAC]*appliance.Phone
	assignments map[appliance.MAC]appliance.Assignment
	tokens      map[string]appliance.MAC
	settings    appliance.Settings
	admin       *store.Credential
	inflight    map[appliance.MAC]bool
	eventSeq    uint64
	poolIssued  map[string]store.PoolGrant // extensions the pool ever handed out
	alerts      []appliance.Alert          // not yet acknowledged
	intake      intakeCounts
	// Not yet written: phones changed by network traffic (soon: state
	// changes; lazy: last-seen only) and their events.
	dirtySoon, dirtyLazy map[appliance.MAC]bool
	pendingEvents        []appliance.Event
	flushErr             error     // last flush failure, nil when healthy
	flushErrSince        time.Time // when flushes started failing

	ctx     context.Context // Run's context: NOTIFYs end with it
	notifWG sync.WaitGroup
}

// New loads the state from cfg.Store.
func New(cfg Config) (*Coordinator, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NewToken == nil {
		cfg.NewToken = newToken
	}
	if cfg.FlushDelay == 0 {
		cfg.FlushDelay = 250 * time.Millisecond
	}
	if cfg.RefreshInterval == 0 {
		cfg.RefreshInterval = 30 * time.Second
	}
	if cfg.QueueSize == 0 {
		cfg.QueueSize = 4096
	}
	if cfg.NewPassword == nil {
		cfg.NewPassword = profile.GeneratePasswordN
	}
	snap, err := cfg.Store.Load()
	if err != nil {
		return nil, err
	}
	c := &Coordinator{
		cfg:      cfg,
		log:      cfg.Log,
		store:    cfg.Store,
		now:      cfg.Now,
		queue:    make(chan pnp.Discovery, cfg.QueueSize),
		wake:     make(chan struct{}, 1),
		inflight: map[appliance.MAC]bool{},
		ctx:      context.Background(),
	}
	c.loadLocked(snap)
	return c, nil
}

// loadLocked replaces the in-memory state with snap (at start, and after
// a restore); the caller holds c.mu or has not shared c yet. NOTIFYs in
// flight are kept: they end on their own.
func (c *Coordinator) loadLocked(snap store.Contents) {
	c.phones = map[appliance.MAC]*appliance.Phone{}
	c.tokens = map[string]appliance.MAC{}
	c.assignments = snap.Assignments
	c.settings = snap.Settings
	c.admin = snap.Admin
	c.eventSeq = snap.LastEvent
	c.poolIssued = snap.PoolIssued
	c.alerts = snap.Alerts
	c.dirtySoon = map[appliance.MAC]bool{}
	c.dirtyLazy = map[appliance.MAC]bool{}
	c.pendingEvents = nil
	for m, p := range snap.Phones {
		p := p
		if p.AdminPassword == "" { // a record from before per-phone passwords
			p.AdminPassword = profile.GeneratePassword()
			c.dirtySoon[m] = true
		}
		c.phones[m] = &p
		c.tokens[p.Token] = m
	}
}

// newToken returns 128 random bits as 32 hex digits.
func newToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Offer hands a discovery to the coordinator without blocking; false
// means the queue is full (counted by the caller as a drop).
func (c *Coordinator) Offer(d pnp.Discovery) bool {
	select {
	case c.queue <- d:
		return true
	default:
		return false
	}
}

// Run processes discoveries and flushes changes until ctx is done, then
// waits for NOTIFYs in flight to end and writes what is left.
func (c *Coordinator) Run(ctx context.Context) error {
	c.mu.Lock()
	c.ctx = ctx
	c.mu.Unlock()
	soon := time.NewTimer(time.Hour)
	soon.Stop()
	armed := false // soon is running: later changes ride on that flush
	lazy := time.NewTicker(c.cfg.RefreshInterval)
	defer lazy.Stop()
	for {
		select {
		case <-ctx.Done():
			// SUBSCRIBEs already answered with 200 must be recorded.
			for drained := false; !drained; {
				select {
				case d := <-c.queue:
					c.discover(d)
				default:
					drained = true
				}
			}
			c.notifWG.Wait()
			if err := c.flush(true); err != nil {
				return fmt.Errorf("final flush: %w", err)
			}
			return nil
		case d := <-c.queue:
			c.discover(d)
		case <-c.wake:
			// Arm once, never push back: under a steady stream of changes a
			// timer reset on every change would never fire, and discoveries
			// would wait for the lazy flush. This way a change is written
			// within FlushDelay, and the commit rate stays at most one per
			// FlushDelay whatever the packet rate.
			if !armed {
				soon.Reset(c.cfg.FlushDelay)
				armed = true
			}
		case <-soon.C:
			armed = false
			if err := c.flush(false); err != nil {
				// The disk is full or failing: try again soon rather than
				// at the lazy tick, so the status clears once it is fixed.
				soon.Reset(flushRetry)
				armed = true
			}
		case <-lazy.C:
			c.flush(true)
		}
	}
}

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

// discover applies one SUBSCRIBE: records the phone (once, however often
// it retries) and decides whether to NOTIFY it.
func (c *Coordinator) discover(d pnp.Discovery) {
	now := c.now().UTC()
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.admitLocked(d) {
		return
	}
	p := c.phones[d.MAC]
	if p == nil {
		p = &appliance.Phone{MAC: d.MAC, State: appliance.StateDiscovered, Token: c.uniqueToken(), AdminPassword: profile.GeneratePassword()}
		c.phones[d.MAC] = p
		c.tokens[p.Token] = d.MAC
	}
	soon := false
	if !p.Seen() {
		p.FirstSeen = now
		soon = true
		c.log.Info("phone discovered", "mac", d.MAC.String(), "vendor", d.Vendor, "model", d.Model, "ip", d.Source.Addr().String())
		c.eventLocked(d.MAC, appliance.EventDiscovered, fmt.Sprintf("%s %s %s from %s", d.Vendor, d.Model, d.Firmware, d.Source.Addr()))
	}
	setStr := func(dst *string, v string) {
		if v != "" && *dst != v {
			*dst = v
			soon = true
		}
	}
	setStr(&p.Vendor, d.Vendor)
	setStr(&p.Model, d.Model)
	setStr(&p.Firmware, d.Firmware)
	setStr(&p.UserAgent, d.UserAgent)
	target := d.Dialog.Target
	if p.IP != target.Addr() || p.SIPPort != int(target.Port()) {
		if p.IP.IsValid() {
			c.eventLocked(d.MAC, appliance.EventState, fmt.Sprintf("address changed from %s to %s", p.IP, target.Addr()))
		}
		p.IP, p.SIPPort = target.Addr(), int(target.Port())
		soon = true
	}
	p.Source, p.Interface, p.Multicast = d.Source, d.Interface, d.Multicast
	p.LastSeen = now
	if p.Dialog == nil || p.Dialog.CallID != d.Dialog.CallID {
		dlg := d.Dialog
		if p.Dialog != nil {
			dlg.NotifyCSeq = p.Dialog.NotifyCSeq
		}
		p.Dialog = &dlg
		soon = true
	}
	if soon {
		c.markSoon(d.MAC)
	} else {
		c.dirtyLazy[d.MAC] = true
	}

	if _, assigned := c.assignments[d.MAC]; !assigned || c.inflight[d.MAC] {
		return
	}
	switch {
	case p.State == appliance.StateFailed:
		// A failed NOTIFY is retried on the phone's next SUBSCRIBE, in
		// either mode: the phone is evidently listening again.
		c.startNotifyLocked(p, "retry after failure")
	case p.State == appliance.StateAssigned && c.settings.ProvisionMode == appliance.ModeAuto:
		c.startNotifyLocked(p, "auto mode")
	}
}

func (c *Coordinator) uniqueToken() string {
	for {
		t := c.cfg.NewToken()
		if _, taken := c.tokens[t]; !taken {
			return t
		}
	}
}

// supported reports whether the box can render a config for p's vendor.
// Only Grandstream so far; a phone that has not said is given the benefit
// of the doubt when its MAC is in a Grandstream OUI.
func supported(p *appliance.Phone) bool {
	if strings.EqualFold(p.Vendor, "Grandstream") {
		return true
	}
	if p.Vendor != "" && !strings.EqualFold(p.Vendor, "OEM") {
		return false
	}
	oui := p.MAC.String()[:6]
	return slices.Contains([]string{"000B82", "C074AD", "EC74D7", "144CFF"}, oui)
}

// canNotifyLocked says why p cannot be sent a NOTIFY now, or nil.
func (c *Coordinator) canNotifyLocked(p *appliance.Phone) error {
	a, ok := c.assignments[p.MAC]
	if !ok {
		return ErrNoAssignment
	}
	if !p.Seen() || p.Dialog == nil {
		return ErrNotSeen
	}
	if c.inflight[p.MAC] {
		return ErrBusy
	}
	if appliance.MatchMAC(c.settings.DenyMACs, p.MAC) {
		return ErrDenied
	}
	if !supported(p) {
		return fmt.Errorf("%w: %s", ErrUnsupported, p.Vendor)
	}
	if a.SIPServer == "" && c.settings.SIPServer == "" {
		// The phone would download a config it cannot register with.
		return ErrNoSIPServer
	}
	return nil
}

// startNotifyLocked sends p its NOTIFY in the background; the caller holds
// c.mu and has checked canNotifyLocked.
func (c *Coordinator) startNotifyLocked(p *appliance.Phone, why string) {
	if err := c.canNotifyLocked(p); err != nil {
		c.eventLocked(p.MAC, appliance.EventNotify, "not sent: "+err.Error())
		return
	}
	p.Dialog.NotifyCSeq++
	dlg := *p.Dialog
	local, _, ok := c.cfg.Notifier.LocalAddrFor(dlg.Target.Addr())
	url := ""
	if ok {
		url = c.configURLLocked(p, local)
	}
	c.inflight[p.MAC] = true
	c.transitionLocked(p, TrigNotifySent)
	c.markSoon(p.MAC)
	c.log.Info("sending NOTIFY", "mac", p.MAC.String(), "ip", dlg.Target.String(), "why", why)
	ctx := c.ctx
	c.notifWG.Add(1)
	go func() {
		defer c.notifWG.Done()
		out := c.cfg.Notifier.Notify(ctx, dlg, dlg.NotifyCSeq, url)
		c.notifyDone(p.MAC, out)
	}()
}

func (c *Coordinator) notifyDone(m appliance.MAC, out appliance.Notify) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.inflight, m)
	p := c.phones[m]
	if p == nil {
		return
	}
	if c.ctx.Err() != nil && out.Result == appliance.NotifyError {
		return // cut short by shutdown: the phone did nothing wrong
	}
	p.Notify = &out
	trig := TrigNotifyOK
	detail := fmt.Sprintf("answered %d", out.Code)
	if out.Result != appliance.NotifyOK {
		trig = TrigNotifyFailed
		detail = fmt.Sprintf("%s: %s", out.Result, out.Detail)
		c.log.Warn("NOTIFY failed", "mac", m.String(), "ip", p.IP.String(), "result", string(out.Result), "detail", out.Detail)
	} else {
		p.NotifiedAt = out.Time.UTC()
	}
	if _, assigned := c.assignments[m]; assigned {
		c.transitionLocked(p, trig)
	}
	c.eventLocked(m, appliance.EventNotify, detail)
	c.markSoon(m)
}

// transitionLocked moves p by trig, logging and recording a change.
func (c *Coordinator) transitionLocked(p *appliance.Phone, trig Trigger) bool {
	next, ok := Next(p.State, trig)
	if !ok {
		return false
	}
	if next != p.State {
		c.log.Info("phone state", "mac", p.MAC.String(), "state", string(next), "was", string(p.State))
		c.eventLocked(p.MAC, appliance.EventState, fmt.Sprintf("%s → %s", p.State, next))
		p.State = next
	}
	return true
}

// configURLLocked is the URL the NOTIFY carries: the vendor guide's file
// form (…/p/<token>/cfg<MAC>) or, by setting, the folder form.
func (c *Coordinator) configURLLocked(p *appliance.Phone, local netip.Addr) string {
	base := fmt.Sprintf("http://%s/p/%s/", netip.AddrPortFrom(local, uint16(c.cfg.HTTPPort)), p.Token)
	if c.settings.NotifyURLForm == appliance.URLFormFolder {
		return base
	}
	return base + "cfg" + p.MAC.String()
}

// SetHTTPPort sets the port used in config URLs (known once the HTTP
// listener is open).
func (c *Coordinator) SetHTTPPort(port int) {
	c.mu.Lock()
	c.cfg.HTTPPort = port
	c.mu.Unlock()
}

// Summary is what a "provision all pending" did.
type Summary struct {
	Sent    []appliance.MAC `json:"sent"`
	Skipped []Skip          `json:"skipped"`
	// Pooled are the phones this press gave a pool extension (and then
	// sent their NOTIFY, listed in Sent).
	Pooled []Grant `json:"pooled"`
}

// Grant is one extension handed out by the pool.
type Grant struct {
	MAC       appliance.MAC `json:"mac"`
	Extension string        `json:"extension"`
}

// Skip is a pending phone that was not sent a NOTIFY, and why.
type Skip struct {
	MAC    appliance.MAC `json:"mac"`
	Reason string        `json:"reason"`
}

// flushRetry is how soon a failed flush is tried again.
const flushRetry = 2 * time.Second

// staleNotified is how long a phone may sit in notified (it accepted the
// NOTIFY but never fetched its config) before a press tries again.
const staleNotified = 5 * time.Minute

// ProvisionAll is the button: first, when an extension pool is set,
// discovered phones without an assignment are given the next free pool
// extensions and generated passwords (committed before any NOTIFY, so a
// press that reports them has made them durable); then every pending phone
// that has announced itself is sent its NOTIFY. Pending = assigned or
// failed, or notified longer than five minutes ago without fetching its
// config. Phones that have not been seen yet are listed as skipped; they
// are provisioned on a later press once they announce themselves (or at
// once in auto mode). The error is a failure to store pool assignments:
// the phones that already had one are still sent their NOTIFY.
func (c *Coordinator) ProvisionAll() (Summary, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sum := Summary{Sent: []appliance.MAC{}, Skipped: []Skip{}, Pooled: []Grant{}}
	poolErr := c.grantPoolLocked(&sum)
	now := c.now()
	for _, m := range c.sortedMACsLocked() {
		p := c.phones[m]
		if _, ok := c.assignments[m]; !ok {
			continue
		}
		pending := p.State == appliance.StateAssigned || p.State == appliance.StateFailed ||
			p.State == appliance.StateNotified && now.Sub(p.NotifiedAt) > staleNotified
		if !pending {
			continue
		}
		if err := c.canNotifyLocked(p); err != nil {
			sum.Skipped = append(sum.Skipped, Skip{MAC: m, Reason: err.Error()})
			continue
		}
		c.startNotifyLocked(p, "provision all pending")
		sum.Sent = append(sum.Sent, m)
	}
	c.log.Info("provision all pending", "sent", len(sum.Sent), "skipped", len(sum.Skipped), "pooled", len(sum.Pooled))
	return sum, poolErr
}

// Provision sends one phone its NOTIFY now, whatever its state (to
// re-provision a phone that is already configured, for example).
func (c *Coordinator) Provision(m appliance.MAC) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.phones[m]
	if p == nil {
		return ErrNotFound
	}
	if err := c.canNotifyLocked(p); err != nil {
		return err
	}
	c.startNotifyLocked(p, "requested")
	return nil
}

func (c *Coordinator) sortedMACsLocked() []appliance.MAC {
	ms := make([]appliance.MAC, 0, len(c.phones))
	for m := range c.phones {
		ms = append(ms, m)
	}
	slices.SortFunc(ms, func(a, b appliance.MAC) int { return strings.Compare(a.String(), b.String()) })
	return ms
}

// commitLocked writes w synchronously (API changes: a 2xx means fsynced),
// and queued events with it. The caller holds c.mu and applies its change
// to memory only when this returns nil.
func (c *Coordinator) commitLocked(w store.Write) error {
	w.Events = append(c.pendingEvents, w.Events...)
	if err := c.store.Apply(w); err != nil {
		c.log.Error("write failed", "err", err)
		return fmt.Errorf("%w: %w", ErrStorage, err)
	}
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

// newEventLocked allocates an event for a synchronous write.
func (c *Coordinator) newEventLocked(m appliance.MAC, kind, detail string) appliance.Event {
	c.eventSeq++
	return appliance.Event{Seq: c.eventSeq, Time: c.now().UTC(), MAC: m, Kind: kind, Detail: detail}
}

// Assign stores a (validated and normalized here) for phone m, seen or
// not. An empty password keeps the current one, so an installer can fix a
// display name without retyping the secret. Changing an assignment makes
// the phone pending again; in auto mode a seen phone is notified at once.
func (c *Coordinator) Assign(m appliance.MAC, a appliance.Assignment) (appliance.Assignment, error) {
	a, err := a.Normalize()
	if err != nil {
		return a, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if appliance.MatchMAC(c.settings.DenyMACs, m) {
		return a, ErrDenied
	}
	old, had := c.assignments[m]
	if a.Password == "" && had {
		a.Password = old.Password
	}
	if a.Password == "" {
		return a, &appliance.FieldError{Field: "password", Msg: "required"}
	}
	p := c.phones[m]
	model := a.Model
	if p != nil && p.Model != "" {
		model = p.Model
	}
	if err := profile.Validate(a, model); err != nil {
		return a, err
	}
	if had && equalAssignments(old, a) {
		return a, nil
	}
	var np appliance.Phone
	if p == nil {
		np = appliance.Phone{MAC: m, State: appliance.StateAssigned, Token: c.uniqueToken(), AdminPassword: profile.GeneratePassword()}
	} else {
		np = *p
		np.State, _ = Next(np.State, TrigAssign)
	}
	evs := []appliance.Event{c.newEventLocked(m, appliance.EventAssigned, "extension "+a.Extension)}
	if p != nil && np.State != p.State {
		evs = append(evs, c.newEventLocked(m, appliance.EventState, fmt.Sprintf("%s → %s", p.State, np.State)))
	}
	seq := c.eventSeq
	if err := c.commitLocked(store.Write{Phones: []appliance.Phone{np}, Assignments: map[appliance.MAC]appliance.Assignment{m: a}, Events: evs}); err != nil {
		c.eventSeq = seq - uint64(len(evs))
		return a, err
	}
	c.assignments[m] = a
	if p == nil {
		c.phones[m] = &np
		c.tokens[np.Token] = m
	} else {
		*p = np
	}
	c.log.Info("assigned", "mac", m.String(), "extension", a.Extension, "state", string(np.State))
	if c.settings.ProvisionMode == appliance.ModeAuto && c.canNotifyLocked(c.phones[m]) == nil {
		c.startNotifyLocked(c.phones[m], "auto mode")
	}
	return a, nil
}

func equalAssignments(a, b appliance.Assignment) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// Unassign removes m's assignment. A phone that was only pre-staged is
// forgotten entirely; a seen phone goes back to discovered.
func (c *Coordinator) Unassign(m appliance.MAC) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.assignments[m]; !ok {
		return ErrNotFound
	}
	p := c.phones[m]
	w := store.Write{DeleteAssignments: []appliance.MAC{m}}
	var np appliance.Phone
	forget := p == nil || !p.Seen()
	if forget {
		if p != nil {
			w.DeletePhones = []appliance.MAC{m}
		}
	} else {
		np = *p
		np.State, _ = Next(np.State, TrigUnassign)
		w.Phones = []appliance.Phone{np}
	}
	w.Events = []appliance.Event{c.newEventLocked(m, appliance.EventUnassigned, "")}
	if !forget && np.State != p.State {
		w.Events = append(w.Events, c.newEventLocked(m, appliance.EventState, fmt.Sprintf("%s → %s", p.State, np.State)))
	}
	seq := c.eventSeq
	if err := c.commitLocked(w); err != nil {
		c.eventSeq = seq - uint64(len(w.Events))
		return err
	}
	delete(c.assignments, m)
	if forget {
		if p != nil {
			delete(c.tokens, p.Token)
			delete(c.phones, m)
		}
	} else {
		*p = np
	}
	c.log.Info("unassigned", "mac", m.String())
	return nil
}

// Masked stands in for a secret in what the API returns.
const Masked = "********"

// Settings returns the site settings.
func (c *Coordinator) Settings() appliance.Settings {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.settings
}

// UpdateSettings merges the JSON object patch into the settings (fields
// absent keep their value; unknown fields are an error), validates and
// stores them. Switching to auto mode provisions pending phones that have
// announced themselves, as auto mode would have done.
func (c *Coordinator) UpdateSettings(patch []byte) (appliance.Settings, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	next := c.settings
	dec := json.NewDecoder(strings.NewReader(string(patch)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&next); err != nil {
		return c.settings, &appliance.FieldError{Field: "settings", Msg: jsonMsg(err)}
	}
	if next.PhoneAdminPassword == Masked {
		// GET shows the secret masked; a client that PUTs back what it
		// read must not set the password to the mask.
		next.PhoneAdminPassword = c.settings.PhoneAdminPassword
	}
	next, err := next.Normalize()
	if err != nil {
		return c.settings, err
	}
	ev := c.newEventLocked(appliance.MAC{}, appliance.EventSettings, "settings changed")
	if err := c.commitLocked(store.Write{Settings: &next, Events: []appliance.Event{ev}}); err != nil {
		c.eventSeq--
		return c.settings, err
	}
	wasAuto := c.settings.ProvisionMode == appliance.ModeAuto
	c.settings = next
	if !wasAuto && next.ProvisionMode == appliance.ModeAuto {
		for _, m := range c.sortedMACsLocked() {
			p := c.phones[m]
			if (p.State == appliance.StateAssigned || p.State == appliance.StateFailed) && c.canNotifyLocked(p) == nil {
				c.startNotifyLocked(p, "auto mode switched on")
			}
		}
	}
	return next, nil
}

func jsonMsg(err error) string {
	var ute *json.UnmarshalTypeError
	if errors.As(err, &ute) {
		return fmt.Sprintf("%s: want %s", ute.Field, ute.Type)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}
