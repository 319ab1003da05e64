package store

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Snapshot kinds. A kind may carry a detail after a dash
// ("premigrate-v1"); snapshots are kept per kind without it.
const (
	KindDaily      = "daily"      // once a day
	KindPreMigrate = "premigrate" // before a schema migration
	KindPreRestore = "prerestore" // the database a restore replaced
)

// snapTime is the time in snapshot file names: sortable, no colons.
const snapTime = "20060102T150405.000Z"

// SnapshotInfo is one snapshot file.
type SnapshotInfo struct {
	Path string
	Time time.Time
	Kind string
	Size int64
}

// Snapshot writes a consistent copy of the database into the snapshot
// directory (tx.WriteTo into a temporary file, fsync, rename, fsync of the
// directory) and deletes the oldest snapshots of the same kind beyond
// Options.Keep. It returns the new file's path.
func (s *Store) Snapshot(kind string) (string, error) {
	var path string
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		path, err = s.snapshotTx(tx, kind)
		return err
	})
	return path, err
}

func (s *Store) snapshotTx(tx *bolt.Tx, kind string) (string, error) {
	dir := s.opts.SnapshotDir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("snapshot: %w", err)
	}
	path := filepath.Join(dir, fmt.Sprintf("phones-%s-%s.db", s.opts.Now().UTC().Format(snapTime), kind))
	err := writeFileAtomic(path, ".tmp-", func(w io.Writer) error {
		_, err := tx.WriteTo(w)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("snapshot %s: %w", kind, err)
	}
	s.rotate(kindGroup(kind))
	return path, nil
}

func kindGroup(kind string) string {
	g, _, _ := strings.Cut(kind, "-")
	return g
}

// rotate keeps the newest Options.Keep snapshots of one kind.
func (s *Store) rotate(group string) {
	all, _ := s.Snapshots()
	n := 0
	for _, sn := range all {
		if kindGroup(sn.Kind) != group {
			continue
		}
		if n++; n > s.opts.Keep {
			if err := os.Remove(sn.Path); err != nil {
				s.opts.Log.Warn("remove old snapshot", "path", sn.Path, "err", err)
			}
		}
	}
}

// Snapshots lists the snapshot files, newest first.
func (s *Store) Snapshots() ([]SnapshotInfo, error) {
	entries, err := os.ReadDir(s.opts.SnapshotDir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	var out []SnapshotInfo
	for _, e := range entries {
		name, ok := strings.CutPrefix(e.Name(), "phones-")
		if !ok || !e.Type().IsRegular() {
			continue
		}
		name, ok = strings.CutSuffix(name, ".db")
		if !ok || len(name) < len(snapTime)+2 {
			continue
		}
		t, err := time.Parse(snapTime, name[:len(snapTime)])
		if err != nil || name[len(snapTime)] != '-' {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		out = append(out, SnapshotInfo{Path: filepath.Join(s.opts.SnapshotDir, e.Name()), Time: t, Kind: name[len(snapTime)+1:], Size: fi.Size()})
	}
	slices.SortFunc(out, func(a, b SnapshotInfo) int { return cmp.Or(b.Time.Compare(a.Time), strings.Compare(b.Path, a.Path)) })
	return out, nil
}

// SnapshotIfDue takes a snapshot of kind when the newest of that kind is
// older than every (or there is none), and reports the new file's path
// ("" when none was due).
func (s *Store) SnapshotIfDue(kind string, every time.Duration) (string, error) {
	all, err := s.Snapshots()
	if err != nil {
		return "", err
	}
	for _, sn := range all {
		if kindGroup(sn.Kind) == kindGroup(kind) {
			if s.opts.Now().Sub(sn.Time) < every {
				return "", nil
			}
			break
		}
	}
	return s.Snapshot(kind)
}
