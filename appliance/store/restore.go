package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	bolt "go.etcd.io/bbolt"
)

// ErrBadBackup is wrapped by every reason an uploaded backup is refused.
var ErrBadBackup = errors.New("not a usable pnpbox backup")

// WriteTo writes a consistent copy of the whole database to w (bbolt's
// tx.WriteTo inside one read transaction: writers are not blocked).
func (s *Store) WriteTo(w io.Writer) (int64, error) {
	var n int64
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}

// Staged is an uploaded backup that passed every check, in a temporary
// file next to the database, ready for Replace. Discard it when it is not
// used.
type Staged struct {
	path string
	Info FileInfo
}

// Discard removes the staged file (a no-op after Replace).
func (st *Staged) Discard() {
	if st != nil && st.path != "" {
		os.Remove(st.path)
		st.path = ""
	}
}

// Stage copies a backup from r into a temporary file on the database's
// filesystem (so Replace can rename it into place), fsyncs it and checks
// it as thoroughly as the database at start: structure, bbolt's Check,
// every record, and a schema this firmware can read. A file from an older
// schema is migrated here, in the copy. Errors wrap ErrBadBackup when the
// upload is at fault; a storage failure (a full disk) is returned as it is.
func (s *Store) Stage(r io.Reader) (*Staged, error) {
	f, err := os.CreateTemp(filepath.Dir(s.path), filepath.Base(s.path)+".tmp-restore-")
	if err != nil {
		return nil, fmt.Errorf("stage backup: %w", err)
	}
	st := &Staged{path: f.Name()}
	_, err = io.Copy(f, r)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		st.Discard()
		return nil, fmt.Errorf("stage backup: %w", err)
	}
	info, err := verifyFile(st.path)
	if err == nil && info.Schema == 0 {
		err = errors.New("it holds no pnpbox data")
	}
	if err != nil {
		st.Discard()
		if errors.Is(err, ErrCorrupt) || errors.Is(err, ErrTooNew) || info.Schema == 0 {
			return nil, fmt.Errorf("%w: %w", ErrBadBackup, err)
		}
		return nil, fmt.Errorf("check backup: %w", err)
	}
	st.Info = info
	return st, nil
}

// Finish brings the staged file to the current schema and applies w to
// it (what must survive the restore, such as the admin credential, and the
// restore's own event), in one transaction.
func (st *Staged) Finish(w Write) error {
	db, err := openBolt(st.path)
	if err != nil {
		return fmt.Errorf("open staged backup: %w", err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		version, err := schemaOf(tx)
		if err != nil {
			return err
		}
		for _, m := range migrations {
			if m.to > version {
				if err := m.apply(tx); err != nil {
					return fmt.Errorf("migrate to schema %d (%s): %w", m.to, m.what, err)
				}
			}
		}
		for _, b := range buckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bucketMeta).Put(keySchema, []byte(strconv.Itoa(SchemaVersion))); err != nil {
			return err
		}
		return apply(tx, w)
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("prepare staged backup: %w", err)
	}
	return nil
}

// Replace makes the staged backup the database. The database it replaces
// is first written to a "prerestore" snapshot (the previous file is kept);
// then the staged file is renamed over the database file and the directory
// fsynced, so a power cut at any point leaves either the old database or
// the new one, never a mix; callers of the Store wait meanwhile and then
// see the new one. It returns the snapshot of the old database.
func (s *Store) Replace(st *Staged) (prev string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db == nil {
		return "", errClosed
	}
	err = s.db.View(func(tx *bolt.Tx) error {
		prev, err = s.snapshotTx(tx, KindPreRestore)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("keep the current database: %w", err)
	}
	if err := s.db.Close(); err != nil {
		return prev, fmt.Errorf("close database: %w", err)
	}
	s.db = nil
	s.opened.Store(nil) // another file: its records are read by Load
	renameErr := os.Rename(st.path, s.path)
	if renameErr == nil {
		st.path = ""
		renameErr = syncDir(filepath.Dir(s.path))
	}
	db, err := openBolt(s.path)
	if err != nil && renameErr == nil {
		// The verified file would not open: put the old one back.
		s.opts.Log.Error("restored database does not open; putting the previous one back", "err", err)
		if cerr := copyFileAtomic(prev, s.path, filepath.Base(s.path)+".tmp-"); cerr != nil {
			return prev, fmt.Errorf("open restored database: %w; and putting the previous one back: %w", err, cerr)
		}
		db, err = openBolt(s.path)
		renameErr = errors.New("the restored database did not open; the previous one is back")
	}
	if err != nil {
		return prev, fmt.Errorf("reopen database: %w", err)
	}
	s.db = db
	if renameErr != nil {
		return prev, fmt.Errorf("replace database: %w", renameErr)
	}
	return prev, nil
}
