package provision

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/pnpbox/pnpbox/appliance"
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
	SendNotify(ctx context.Context, d appliance.Dialog, cseq uint32, url string) appliance.NotifyOutcome
	LocalAddrFor(ip netip.Addr) (local netip.Addr, iface string, ok bool)
}

// FirstAddresser is a Notifier that can also name the box's first LAN
// address (*pnp.Server does). The coordinator uses it, when the Notifier
// has it, for the config URL of a phone that has not announced itself yet
// (no address to pick the interface by); without it such a phone has no
// config URL until it is seen.
type FirstAddresser interface {
	FirstAddr() netip.Addr
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

	queue chan appliance.Discovery
	wake  chan struct{}

	// httpsPort is the box's HTTPS listener (0: none), guarded by mu;
	// endpoint.go. guard too; downloadguard.go. rogue too; rogue.go.
	httpsPort int
	guard     downloadGuard
	rogue     rogueWatch

	// mu guards everything below. The assignments' and settings' values
	// are replaced, never changed in place, so a copy taken under mu can be
	// read (rendered, planned against) after mu is released.
	mu          sync.Mutex
	phones      map[appliance.MAC]*appliance.Phone
	assignments map[appliance.MAC]appliance.Assignment
	tokens      map[string]appliance.MAC
	settings    appliance.Settings
	admin       *store.Credential
	inflight    map[appliance.MAC]bool
	eventSeq    uint64
	// counts are the phones per state, kept by putPhoneLocked,
	// forgetPhoneLocked and transitionLocked (Status reads them).
	counts map[appliance.State]int
	// gen counts changes to the assignments, the settings, the pool's
	// history and phones' models, so work planned outside the lock (and the
	// pool status cache) can tell whether its base is still current.
	gen       uint64
	poolCache struct {
		gen uint64 // c.gen when ps was computed
		ps  PoolStatus
	}
	poolIssued map[string]store.PoolGrant // extensions the pool ever handed out
	alerts     []appliance.Alert          // not yet acknowledged
	admission  admissionCounts
	// Not yet written: phones changed by network traffic (soon: state
	// changes; lazy: last-seen only) and their events.
	dirtySoon, dirtyLazy map[appliance.MAC]bool
	pendingEvents        []appliance.Event
	// atAddr lists, per address, the phones that were given it; entries
	// may be stale and are checked on use (identity.go).
	atAddr map[netip.Addr][]appliance.MAC
	// lastDownloadEvent is each phone's newest pending download event (its
	// Seq), which a repeat of the same download counts into (journal.go).
	lastDownloadEvent map[appliance.MAC]uint64
	detailBuf         []byte    // appendDownloadDetail's buffer, reused under mu
	flushErr          error     // last flush failure, nil when healthy
	flushErrSince     time.Time // when flushes started failing
	// configs are rendered configs served until an input changes
	// (download.go); flushing, when not nil, closes once the flush in
	// flight has written (journal.go).
	configs configCache
	// checks are the phones' last render checks (rendercheck.go).
	checks   map[appliance.MAC]renderVerdict
	flushing chan struct{}
	flushMu  sync.Mutex // one flush at a time; taken before mu
	loads    uint64     // counts loadLocked: a restore since a flush began
	// flushHook, when set (tests), runs in flush between taking the copies
	// and writing them.
	flushHook func()

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
		queue:    make(chan appliance.Discovery, cfg.QueueSize),
		wake:     make(chan struct{}, 1),
		inflight: map[appliance.MAC]bool{},
		ctx:      context.Background(),
	}
	c.loadLocked(snap)
	if len(snap.Phones) >= 1000 {
		// Decoding a large store leaves about as much garbage as it keeps
		// (the records' bytes, the decoded copies): hand it back to the
		// system now rather than when the runtime's scavenger gets to it,
		// so the box's resident size after start is what it holds.
		releaseMemory()
	}
	return c, nil
}

// releaseMemory collects garbage and returns the freed memory to the
// system. It collects twice: what a sync.Pool holds (bbolt's page
// buffers after a large write: about 12 MB after 10,000 phones) survives
// the first collection in the pool's victim cache, so one forced
// collection left it resident after about half the large imports.
func releaseMemory() {
	runtime.GC()
	debug.FreeOSMemory()
}

// loadLocked replaces the in-memory state with snap (at start, and after
// a restore); the caller holds c.mu or has not shared c yet. NOTIFYs in
// flight are kept: they end on their own.
func (c *Coordinator) loadLocked(snap store.Contents) {
	c.phones = make(map[appliance.MAC]*appliance.Phone, len(snap.Phones))
	c.tokens = make(map[string]appliance.MAC, len(snap.Phones))
	c.atAddr = nil // filled as phones with an address are loaded
	c.counts = map[appliance.State]int{}
	c.gen++
	c.assignments = snap.Assignments
	c.settings = snap.Settings
	c.admin = snap.Admin
	c.eventSeq = snap.LastEvent
	c.poolIssued = snap.PoolIssued
	c.alerts = snap.Alerts
	c.dirtySoon = map[appliance.MAC]bool{}
	c.dirtyLazy = map[appliance.MAC]bool{}
	c.pendingEvents = nil
	c.lastDownloadEvent = nil
	c.configs = configCache{}
	c.checks = nil
	c.loads++
	// What putPhoneLocked does for a phone it does not hold yet, with the
	// records in one allocation rather than one each (10,000 allocations
	// at a large start) and the maps sized at once.
	slab := make([]appliance.Phone, 0, len(snap.Phones))
	for m, p := range snap.Phones {
		if p.AdminPassword == "" { // a record from before per-phone passwords
			p.AdminPassword = c.cfg.NewPassword(phoneAdminPasswordLen)
			c.dirtySoon[m] = true
		}
		slab = append(slab, p)
		np := &slab[len(slab)-1]
		c.phones[m] = np
		c.indexPhoneLocked(np)
	}
}

// newToken returns 128 random bits as 32 hex digits.
func newToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
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

func (c *Coordinator) uniqueToken() string {
	for {
		t := c.cfg.NewToken()
		if _, taken := c.tokens[t]; !taken {
			return t
		}
	}
}

// SetHTTPPort sets the port used in config URLs (known once the HTTP
// listener is open).
func (c *Coordinator) SetHTTPPort(port int) {
	c.mu.Lock()
	c.cfg.HTTPPort = port
	c.mu.Unlock()
}
