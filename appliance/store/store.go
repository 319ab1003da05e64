package store

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

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

	// opened is what verifying the file decoded at open, handed to the
	// first Load if nothing was committed since (then dropped).
	opened atomic.Pointer[verified]
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
		_, v, err := verifyLoadPaused(s.path)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) || !s.opts.Recover {
				return err
			}
			if err := s.recoverFile(err); err != nil {
				return err
			}
		}
		s.opened.Store(v) // nil after a recovery: the file changed
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

// verifyLoadPaused is verifyLoad with the garbage collector paused. A
// start decodes every record, and keeps most of what it decodes (the
// first Load takes it): collecting while the heap grows from nothing
// marks the same records again at every doubling, about a fifth of a
// start's CPU with 10,000 phones. Paused, one collection after the decode
// marks them once; the heap grows by the decode's garbage meanwhile (6 MB
// more at the peak for 10,000 phones, a 35 MB file), and a memory limit,
// when one is set (GOMEMLIMIT), still applies.
func verifyLoadPaused(path string) (FileInfo, *verified, error) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	return verifyLoad(path)
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
		s.opened.Store(nil) // stale now: the next Load reads the file
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
