package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/pnpbox/pnpbox/appliance"
	bolt "go.etcd.io/bbolt"
)

// Recovery says how OpenWith replaced a damaged database file.
type Recovery struct {
	Time    time.Time
	Problem string // what was wrong with the file
	MovedTo string // the damaged file, kept for support
	Action  string // what the database is now, in words
	// From is the snapshot restored, if one was.
	From string
}

// Message is the alert text for the installer.
func (r *Recovery) Message() string {
	return fmt.Sprintf("The database was damaged (%s). It was moved to %s and %s.",
		truncate(r.Problem, 300), filepath.Base(r.MovedTo), r.Action)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// recoverFile moves the damaged database aside and puts the best sound
// replacement in its place: the same file without its last transaction
// (what `bbolt surgery revert-meta-page` does, the maintainers' fix for
// etcd-io/bbolt #778), else the newest sound snapshot, else nothing (a new
// database is created). Each candidate passes verifyFile before it is
// used.
func (s *Store) recoverFile(cause error) error {
	log := s.opts.Log
	now := s.opts.Now().UTC()
	rec := &Recovery{Time: now, Problem: cause.Error(), MovedTo: fmt.Sprintf("%s.corrupt-%s", s.path, now.Format(snapTime))}
	log.Error("database is damaged; replacing it", "path", s.path, "err", cause, "moved_to", rec.MovedTo)
	if err := os.Rename(s.path, rec.MovedTo); err != nil {
		return fmt.Errorf("move damaged database aside: %w", err)
	}
	if err := syncDir(filepath.Dir(s.path)); err != nil {
		return err
	}
	s.recovery = rec

	if ok, err := s.revertLastTx(rec.MovedTo); err != nil {
		return err
	} else if ok {
		rec.Action = "was opened as it was before its last change (that change is lost)"
		log.Warn("database recovered without its last transaction", "path", s.path)
		return nil
	}
	snaps, err := s.Snapshots()
	if err != nil {
		log.Warn("list snapshots", "err", err)
	}
	for _, sn := range snaps {
		if _, err := verifyFile(sn.Path); err != nil {
			log.Warn("snapshot not usable", "path", sn.Path, "err", err)
			continue
		}
		if err := copyFileAtomic(sn.Path, s.path, filepath.Base(s.path)+".tmp-"); err != nil {
			return fmt.Errorf("restore snapshot %s: %w", sn.Path, err)
		}
		rec.From = sn.Path
		rec.Action = fmt.Sprintf("the snapshot of %s UTC was restored (changes made after it are lost)", sn.Time.Format("2006-01-02 15:04"))
		log.Warn("database restored from snapshot", "snapshot", sn.Path)
		return nil
	}
	rec.Action = "no sound snapshot was found, so the box started with an empty database"
	log.Warn("database replaced by an empty one: no sound snapshot")
	return nil
}

// revertLastTx writes the damaged file as it was before its last
// transaction to a temporary file; if that passes
// verifyFile, it becomes the database.
func (s *Store) revertLastTx(damaged string) (bool, error) {
	buf, err := os.ReadFile(damaged)
	if err != nil {
		return false, err
	}
	metas, err := readMetas(buf)
	if err != nil || len(metas) < 2 {
		return false, nil
	}
	// Like `bbolt surgery revert-meta-page`: the older meta page is copied
	// over the newer one (keeping that slot's page number, which bbolt
	// checks), so both name the previous transaction.
	ps := metas[0].pageSize
	dst, src := uint64(metas[0].page)*ps, uint64(metas[1].page)*ps
	if max(dst, src)+ps > uint64(len(buf)) {
		return false, nil
	}
	copy(buf[dst:dst+ps], buf[src:src+ps])
	ne.PutUint64(buf[dst:], uint64(metas[0].page))
	tmp, err := os.CreateTemp(filepath.Dir(s.path), filepath.Base(s.path)+".tmp-revert-")
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(buf)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, fmt.Errorf("write reverted copy: %w", err)
	}
	if _, err := verifyFile(tmp.Name()); err != nil {
		s.opts.Log.Warn("database without its last transaction is not sound either", "err", err)
		return false, nil
	}
	if err := os.Rename(tmp.Name(), s.path); err != nil {
		return false, err
	}
	return true, syncDir(filepath.Dir(s.path))
}

// raiseRecoveryAlert records the recovery in the (now open) database: an
// alert the installer must acknowledge and an event.
func (s *Store) raiseRecoveryAlert() error {
	rec := s.recovery
	return s.update(func(tx *bolt.Tx) error {
		var alerts []appliance.Alert
		if v := tx.Bucket(bucketMeta).Get(keyAlerts); v != nil {
			if err := json.Unmarshal(v, &alerts); err != nil {
				alerts = nil
			}
		}
		alerts = append(alerts, appliance.Alert{Time: rec.Time, Kind: appliance.AlertDatabaseRecovered, Message: rec.Message()})
		var seq uint64 = 1
		if k, _ := tx.Bucket(bucketEvents).Cursor().Last(); k != nil {
			seq = binary.BigEndian.Uint64(k) + 1
		}
		ev := appliance.Event{Seq: seq, Time: rec.Time, Kind: appliance.EventError, Detail: rec.Message()}
		return apply(tx, Write{Alerts: &alerts, Events: []appliance.Event{ev}})
	})
}
