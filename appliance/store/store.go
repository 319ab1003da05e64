// Package store persists the box's state in one bbolt file: phones,
// assignments (which may exist before their phone is seen), events, site
// settings, the admin credential and the schema version.
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
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/pnpbox/pnpbox/appliance"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// SchemaVersion is the layout this code reads and writes.
const SchemaVersion = 1

// MaxEvents bounds the event log; the oldest are dropped beyond it.
const MaxEvents = 10000

var (
	bucketMeta        = []byte("meta")
	bucketPhones      = []byte("phones")
	bucketAssignments = []byte("assignments")
	bucketEvents      = []byte("events")
	bucketSettings    = []byte("settings")

	keySchema  = []byte("schema_version")
	keySite    = []byte("site")
	keyAdmin   = []byte("admin")
	allBuckets = [][]byte{bucketMeta, bucketPhones, bucketAssignments, bucketEvents, bucketSettings}
)

// ErrLocked means another process holds the database.
var ErrLocked = errors.New("database is in use by another process")

// Store is the bbolt-backed state. Safe for concurrent use.
type Store struct {
	db      *bolt.DB
	path    string
	commits atomic.Uint64
}

// Open opens (creating if needed) the database at path. It waits at most
// two seconds for another process's lock.
func Open(path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("open %s: %w", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	s := &Store{db: db, path: path}
	if err := s.init(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return s, nil
}

func (s *Store) init() error {
	return s.update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		v := meta.Get(keySchema)
		if v == nil {
			return meta.Put(keySchema, []byte(strconv.Itoa(SchemaVersion)))
		}
		n, err := strconv.Atoi(string(v))
		if err != nil {
			return fmt.Errorf("schema version %q: %w", v, err)
		}
		if n > SchemaVersion {
			return fmt.Errorf("database schema %d is newer than this firmware supports (%d)", n, SchemaVersion)
		}
		return nil
	})
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// Commits returns how many read-write transactions have been committed
// since Open: the number a flood must not drive.
func (s *Store) Commits() uint64 { return s.commits.Load() }

func (s *Store) update(fn func(*bolt.Tx) error) error {
	err := s.db.Update(fn)
	if err == nil {
		s.commits.Add(1)
	}
	return err
}

// Snapshot is the whole state, as loaded at start.
type Snapshot struct {
	Phones      map[appliance.MAC]appliance.Phone
	Assignments map[appliance.MAC]appliance.Assignment
	Settings    appliance.Settings
	Admin       *Credential
	LastEvent   uint64
}

// Load reads everything but the events.
func (s *Store) Load() (Snapshot, error) {
	snap := Snapshot{
		Phones:      map[appliance.MAC]appliance.Phone{},
		Assignments: map[appliance.MAC]appliance.Assignment{},
		Settings:    appliance.DefaultSettings(),
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketPhones).ForEach(func(k, v []byte) error {
			var p appliance.Phone
			if err := json.Unmarshal(v, &p); err != nil {
				return fmt.Errorf("phone %s: %w", k, err)
			}
			snap.Phones[p.MAC] = p
			return nil
		}); err != nil {
			return err
		}
		if err := tx.Bucket(bucketAssignments).ForEach(func(k, v []byte) error {
			mac, err := appliance.ParseMAC(string(k))
			if err != nil {
				return fmt.Errorf("assignment key %q: %w", k, err)
			}
			var a appliance.Assignment
			if err := json.Unmarshal(v, &a); err != nil {
				return fmt.Errorf("assignment %s: %w", k, err)
			}
			snap.Assignments[mac] = a
			return nil
		}); err != nil {
			return err
		}
		set := tx.Bucket(bucketSettings)
		if v := set.Get(keySite); v != nil {
			if err := json.Unmarshal(v, &snap.Settings); err != nil {
				return fmt.Errorf("settings: %w", err)
			}
		}
		if v := set.Get(keyAdmin); v != nil {
			snap.Admin = &Credential{}
			if err := json.Unmarshal(v, snap.Admin); err != nil {
				return fmt.Errorf("admin credential: %w", err)
			}
		}
		if k, _ := tx.Bucket(bucketEvents).Cursor().Last(); k != nil {
			snap.LastEvent = binary.BigEndian.Uint64(k)
		}
		return nil
	})
	if err != nil {
		return Snapshot{}, fmt.Errorf("load %s: %w", s.path, err)
	}
	return snap, nil
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
}

// Empty reports whether w changes nothing.
func (w *Write) Empty() bool {
	return len(w.Phones) == 0 && len(w.DeletePhones) == 0 && len(w.Assignments) == 0 &&
		len(w.DeleteAssignments) == 0 && len(w.Events) == 0 && w.Settings == nil && w.Admin == nil
}

// Apply commits w in one transaction; when it returns nil the change is on
// disk. On error nothing of w is applied.
func (s *Store) Apply(w Write) error {
	if w.Empty() {
		return nil
	}
	err := s.update(func(tx *bolt.Tx) error {
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
		return nil
	})
	if err != nil {
		return fmt.Errorf("commit: %w", err)
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
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		if last-binary.BigEndian.Uint64(k) < MaxEvents {
			break
		}
		if err := c.Delete(); err != nil {
			return fmt.Errorf("trim events: %w", err)
		}
	}
	return nil
}

// EventFilter selects events: after Since (a Seq), for MAC if set, at most
// Limit (newest kept when limited).
type EventFilter struct {
	Since uint64
	MAC   *appliance.MAC
	Limit int
}

// Events returns matching events in ascending Seq order.
func (s *Store) Events(f EventFilter) ([]appliance.Event, error) {
	var out []appliance.Event
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketEvents).Cursor()
		for k, v := c.Seek(seqKey(f.Since + 1)); k != nil; k, v = c.Next() {
			var e appliance.Event
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("event %d: %w", binary.BigEndian.Uint64(k), err)
			}
			if f.MAC != nil && e.MAC != *f.MAC {
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
