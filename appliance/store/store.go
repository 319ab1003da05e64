// Package store persists the box's state in one bbolt file: phones,
// assignments (which may exist before their phone is seen), events, site
// settings, the admin credential, the extension pool's ledger, alerts and
// the schema version; and it keeps that file alive: snapshots, backups,
// restores, migrations and recovery from a damaged file.
//
// Every change is one bbolt read-write transaction, which fsyncs before
// Commit returns: when Apply returns nil the change survives a power cut.
// Callers group what must move together (an assignment and the phone's new
// state) into one Write, and coalesce bursts (discovery refreshes) before
// calling Apply, so a flood never becomes one commit per packet.
package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pnpbox/pnpbox/appliance"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// MaxEvents bounds the event log; the oldest are dropped beyond it.
const MaxEvents = 10000

var (
	bucketMeta        = []byte("meta")
	bucketPhones      = []byte("phones")
	bucketAssignments = []byte("assignments")
	bucketEvents      = []byte("events")
	bucketSettings    = []byte("settings")
	bucketPool        = []byte("pool") // schema 2

	keySchema = []byte("schema_version")
	keyAlerts = []byte("alerts") // in meta, schema 2
	keySite   = []byte("site")
	keyAdmin  = []byte("admin")
)

// ErrLocked means another process holds the database.
var ErrLocked = errors.New("database is in use by another process")

// lockTimeout is how long Open waits for another process's lock.
const lockTimeout = 2 * time.Second

// Options configure OpenWith. The zero value is usable.
type Options struct {
	// SnapshotDir holds the automatic snapshots (default: "snapshots"
	// next to the database file).
	SnapshotDir string
	// Keep is how many snapshots of each kind are kept (default 3).
	Keep int
	// Recover makes OpenWith replace a damaged file instead of failing:
	// the file is moved aside (<name>.corrupt-<time>) and replaced by the
	// same file without its last transaction if that one is sound, else by
	// the newest sound snapshot, else by an empty database; an alert and
	// an event say so. Without it OpenWith returns an error wrapping
	// ErrCorrupt.
	Recover bool
	Now     func() time.Time
	Log     *slog.Logger
}

// Store is the bbolt-backed state. Safe for concurrent use.
type Store struct {
	path    string
	opts    Options
	lock    *os.File // held while the Store is open: one process per file
	commits atomic.Uint64

	// mu guards db: every use holds it for reading; Replace and Close
	// swap or close the file holding it for writing, so no caller ever
	// sees a closed or half-replaced database.
	mu sync.RWMutex
	db *bolt.DB

	recovery *Recovery
}

// Open opens (creating if needed) the database at path with default
// options: a damaged file is an error, not replaced.
func Open(path string) (*Store, error) { return OpenWith(path, Options{}) }

// OpenWith opens (creating if needed) the database at path. Before bbolt
// uses it, the file is checked in full (its structure, bbolt's Check, and
// every record); a database written by an older schema is snapshotted and
// migrated. It waits at most two seconds for another process's lock.
func OpenWith(path string, opts Options) (*Store, error) {
	if opts.Keep <= 0 {
		opts.Keep = 3
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.SnapshotDir == "" {
		opts.SnapshotDir = filepath.Join(filepath.Dir(path), "snapshots")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	lock, err := lockFile(path + ".lock")
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	s := &Store{path: path, opts: opts, lock: lock}
	if err := s.open(); err != nil {
		lock.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return s, nil
}

func (s *Store) open() error {
	removeTemps(filepath.Dir(s.path), filepath.Base(s.path)+".tmp-")
	removeTemps(s.opts.SnapshotDir, ".tmp-")
	if st, err := os.Stat(s.path); err == nil && st.Size() > 0 {
		if _, err := verifyFile(s.path); err != nil {
			if !errors.Is(err, ErrCorrupt) || !s.opts.Recover {
				return err
			}
			if err := s.recoverFile(err); err != nil {
				return err
			}
		}
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	db, err := openBolt(s.path)
	if err != nil {
		return err
	}
	s.db = db
	if err := s.migrate(); err != nil {
		db.Close()
		return err
	}
	if s.recovery != nil {
		if err := s.raiseRecoveryAlert(); err != nil {
			db.Close()
			return err
		}
	}
	return nil
}

func openBolt(path string) (*bolt.DB, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, ErrLocked
	}
	if err != nil {
		return nil, err
	}
	return db, nil
}

// Close closes the database.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db == nil {
		return nil
	}
	err := s.db.Close()
	s.db = nil
	s.lock.Close()
	return err
}

// Recovery says how a damaged file was replaced at open, or nil.
func (s *Store) Recovery() *Recovery { return s.recovery }

// Commits returns how many read-write transactions have been committed
// since Open: the number a flood must not drive.
func (s *Store) Commits() uint64 { return s.commits.Load() }

// errClosed is returned by a Store used after Close.
var errClosed = errors.New("store is closed")

func (s *Store) update(fn func(*bolt.Tx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		return errClosed
	}
	err := s.db.Update(fn)
	if err == nil {
		s.commits.Add(1)
	}
	return err
}

func (s *Store) view(fn func(*bolt.Tx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		return errClosed
	}
	return s.db.View(fn)
}

// PoolGrant records one extension the pool handed out: to which phone and
// when. The ledger keeps it after the assignment is removed, because the
// phone still holds that account until it is configured again.
type PoolGrant struct {
	MAC  appliance.MAC `json:"mac"`
	Time time.Time     `json:"time"`
}

// Snapshot is the whole state, as loaded at start.
type Snapshot struct {
	Schema      int
	Phones      map[appliance.MAC]appliance.Phone
	Assignments map[appliance.MAC]appliance.Assignment
	Settings    appliance.Settings
	Admin       *Credential
	PoolIssued  map[string]PoolGrant // extension → grant
	Alerts      []appliance.Alert
	LastEvent   uint64
}

// Load reads everything but the events.
func (s *Store) Load() (Snapshot, error) {
	var snap Snapshot
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		snap, err = load(tx)
		return err
	})
	if err != nil {
		return Snapshot{}, fmt.Errorf("load %s: %w", s.path, err)
	}
	return snap, nil
}

// load decodes every record but the events. A record that does not decode
// is corruption: bbolt has no checksums on pages, so a flipped bit shows up
// here or nowhere.
func load(tx *bolt.Tx) (Snapshot, error) {
	snap := Snapshot{
		Phones:      map[appliance.MAC]appliance.Phone{},
		Assignments: map[appliance.MAC]appliance.Assignment{},
		Settings:    appliance.DefaultSettings(),
		PoolIssued:  map[string]PoolGrant{},
	}
	var err error
	if snap.Schema, err = schemaOf(tx); err != nil {
		return snap, err
	}
	for _, b := range [][]byte{bucketPhones, bucketAssignments, bucketEvents, bucketSettings} {
		if tx.Bucket(b) == nil {
			return snap, corruptf("bucket %s missing", b)
		}
	}
	if err := tx.Bucket(bucketPhones).ForEach(func(k, v []byte) error {
		var p appliance.Phone
		if err := json.Unmarshal(v, &p); err != nil {
			return corruptf("phone %q: %v", k, err)
		}
		if p.MAC.String() != string(k) {
			return corruptf("phone %q holds the record of %s", k, p.MAC)
		}
		snap.Phones[p.MAC] = p
		return nil
	}); err != nil {
		return snap, err
	}
	if err := tx.Bucket(bucketAssignments).ForEach(func(k, v []byte) error {
		mac, err := appliance.ParseMAC(string(k))
		if err != nil {
			return corruptf("assignment key %q: %v", k, err)
		}
		var a appliance.Assignment
		if err := json.Unmarshal(v, &a); err != nil {
			return corruptf("assignment %s: %v", k, err)
		}
		snap.Assignments[mac] = a
		return nil
	}); err != nil {
		return snap, err
	}
	set := tx.Bucket(bucketSettings)
	if v := set.Get(keySite); v != nil {
		if err := json.Unmarshal(v, &snap.Settings); err != nil {
			return snap, corruptf("settings: %v", err)
		}
	}
	if v := set.Get(keyAdmin); v != nil {
		snap.Admin = &Credential{}
		if err := json.Unmarshal(v, snap.Admin); err != nil {
			return snap, corruptf("admin credential: %v", err)
		}
	}
	if pool := tx.Bucket(bucketPool); pool != nil {
		if err := pool.ForEach(func(k, v []byte) error {
			var g PoolGrant
			if err := json.Unmarshal(v, &g); err != nil {
				return corruptf("pool grant %q: %v", k, err)
			}
			snap.PoolIssued[string(k)] = g
			return nil
		}); err != nil {
			return snap, err
		}
	}
	if v := tx.Bucket(bucketMeta).Get(keyAlerts); v != nil {
		if err := json.Unmarshal(v, &snap.Alerts); err != nil {
			return snap, corruptf("alerts: %v", err)
		}
	}
	if k, _ := tx.Bucket(bucketEvents).Cursor().Last(); k != nil {
		if len(k) != 8 {
			return snap, corruptf("event key %x", k)
		}
		snap.LastEvent = binary.BigEndian.Uint64(k)
	}
	return snap, nil
}

// checkEvents decodes every event (part of verifying a file).
func checkEvents(tx *bolt.Tx) error {
	return tx.Bucket(bucketEvents).ForEach(func(k, v []byte) error {
		var e appliance.Event
		if len(k) != 8 {
			return corruptf("event key %x", k)
		}
		if err := json.Unmarshal(v, &e); err != nil {
			return corruptf("event %d: %v", binary.BigEndian.Uint64(k), err)
		}
		return nil
	})
}

func schemaOf(tx *bolt.Tx) (int, error) {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return 0, corruptf("bucket meta missing")
	}
	v := meta.Get(keySchema)
	if v == nil {
		return 0, corruptf("no schema version")
	}
	n, err := strconv.Atoi(string(v))
	if err != nil || n < 1 {
		return 0, corruptf("schema version %q", v)
	}
	return n, nil
}

// Write is one atomic change. Empty fields change nothing.
type Write struct {
	Phones            []appliance.Phone
	DeletePhones      []appliance.MAC
	Assignments       map[appliance.MAC]appliance.Assignment
	DeleteAssignments []appliance.MAC
	Events            []appliance.Event // Seq must be set by the caller, increasing
	Settings          *appliance.Settings
	Admin             *Credential
	PoolIssued        map[string]PoolGrant // added to the ledger
	Alerts            *[]appliance.Alert   // replaces the alerts (empty: none)
}

// Empty reports whether w changes nothing.
func (w *Write) Empty() bool {
	return len(w.Phones) == 0 && len(w.DeletePhones) == 0 && len(w.Assignments) == 0 &&
		len(w.DeleteAssignments) == 0 && len(w.Events) == 0 && w.Settings == nil && w.Admin == nil &&
		len(w.PoolIssued) == 0 && w.Alerts == nil
}

// Apply commits w in one transaction; when it returns nil the change is on
// disk. On error nothing of w is applied.
func (s *Store) Apply(w Write) error {
	if w.Empty() {
		return nil
	}
	if err := s.update(func(tx *bolt.Tx) error { return apply(tx, w) }); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func apply(tx *bolt.Tx, w Write) error {
	phones := tx.Bucket(bucketPhones)
	for _, p := range w.Phones {
		if err := putJSON(phones, []byte(p.MAC.String()), p); err != nil {
			return fmt.Errorf("put phone %s: %w", p.MAC, err)
		}
	}
	for _, m := range w.DeletePhones {
		if err := phones.Delete([]byte(m.String())); err != nil {
			return fmt.Errorf("delete phone %s: %w", m, err)
		}
	}
	as := tx.Bucket(bucketAssignments)
	for m, a := range w.Assignments {
		if err := putJSON(as, []byte(m.String()), a); err != nil {
			return fmt.Errorf("put assignment %s: %w", m, err)
		}
	}
	for _, m := range w.DeleteAssignments {
		if err := as.Delete([]byte(m.String())); err != nil {
			return fmt.Errorf("delete assignment %s: %w", m, err)
		}
	}
	if err := putEvents(tx.Bucket(bucketEvents), w.Events); err != nil {
		return err
	}
	set := tx.Bucket(bucketSettings)
	if w.Settings != nil {
		if err := putJSON(set, keySite, w.Settings); err != nil {
			return fmt.Errorf("put settings: %w", err)
		}
	}
	if w.Admin != nil {
		if err := putJSON(set, keyAdmin, w.Admin); err != nil {
			return fmt.Errorf("put admin credential: %w", err)
		}
	}
	pool := tx.Bucket(bucketPool)
	for ext, g := range w.PoolIssued {
		if err := putJSON(pool, []byte(ext), g); err != nil {
			return fmt.Errorf("put pool grant %s: %w", ext, err)
		}
	}
	if w.Alerts != nil {
		if err := putJSON(tx.Bucket(bucketMeta), keyAlerts, *w.Alerts); err != nil {
			return fmt.Errorf("put alerts: %w", err)
		}
	}
	return nil
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	buf, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, buf)
}

func seqKey(n uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], n)
	return k[:]
}

// putEvents appends events and trims the log to MaxEvents, in the same
// transaction, so the file never grows without bound.
func putEvents(b *bolt.Bucket, evs []appliance.Event) error {
	if len(evs) == 0 {
		return nil
	}
	for _, e := range evs {
		if err := putJSON(b, seqKey(e.Seq), e); err != nil {
			return fmt.Errorf("put event %d: %w", e.Seq, err)
		}
	}
	last := evs[len(evs)-1].Seq
	c := b.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.First() {
		if last-binary.BigEndian.Uint64(k) < MaxEvents {
			break
		}
		if err := c.Delete(); err != nil {
			return fmt.Errorf("trim events: %w", err)
		}
	}
	return nil
}

// EventFilter selects events: after Since (a Seq) and at or after After
// (a time) when set, for MAC if set, at most Limit (newest kept when
// limited).
type EventFilter struct {
	Since uint64
	After time.Time
	MAC   *appliance.MAC
	Limit int
}

// Events returns matching events in ascending Seq order.
func (s *Store) Events(f EventFilter) ([]appliance.Event, error) {
	var out []appliance.Event
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketEvents).Cursor()
		for k, v := c.Seek(seqKey(f.Since + 1)); k != nil; k, v = c.Next() {
			var e appliance.Event
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("event %d: %w", binary.BigEndian.Uint64(k), err)
			}
			if f.MAC != nil && e.MAC != *f.MAC || !f.After.IsZero() && e.Time.Before(f.After) {
				continue
			}
			out = append(out, e)
		}
		return nil
	})
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[len(out)-f.Limit:]
	}
	return out, err
}
