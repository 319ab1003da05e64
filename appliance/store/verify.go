package store

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// FileInfo describes a database file that passed verifyFile.
type FileInfo struct {
	Schema      int // 0: a new, empty file
	TxID        uint64
	Phones      int
	Assignments int
	LastEvent   uint64
	Size        int64
}

// verifyFile checks the database file at path in full before anything
// trusts it: the page structure from the raw bytes (pagewalk.go), then
// bbolt's Check, then every record decoded. Damage is reported as an
// error wrapping ErrCorrupt; a file from a newer schema is not damage but
// still an error.
func verifyFile(path string) (info FileInfo, err error) {
	buf, err := os.ReadFile(path)
	if err != nil {
		return info, err
	}
	info.Size = int64(len(buf))
	metas, err := readMetas(buf)
	if err != nil {
		return info, err
	}
	if err := verifyStructure(buf, metas[0]); err != nil {
		return info, err
	}
	info.TxID = metas[0].txid
	buf = nil
	err = checkWithBolt(path, &info)
	if err == nil && info.Schema > SchemaVersion {
		return info, fmt.Errorf("%w: database schema %d is newer than this firmware supports (%d)", ErrTooNew, info.Schema, SchemaVersion)
	}
	return info, err
}

// ErrTooNew means a database was written by newer firmware.
var ErrTooNew = errors.New("database from newer firmware")

// ErrCorrupt is wrapped by every error that says the database file is
// damaged (as opposed to unreadable, locked or too new).
var ErrCorrupt = errors.New("database file is corrupt")

// corruptf returns an error wrapping ErrCorrupt.
func corruptf(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, a...))
}

// checkWithBolt opens path read-only and runs bbolt's Check and a full
// decode. The structure walk has made faults impossible, but a panic
// anyway (bbolt asserts on what it finds) or a memory fault is turned into
// ErrCorrupt, never a crash.
func checkWithBolt(path string, info *FileInfo) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = corruptf("reading it failed: %v", r)
		}
	}()
	db, err := bolt.Open(path, 0o400, &bolt.Options{ReadOnly: true, Timeout: lockTimeout})
	switch {
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrVersionMismatch):
		return corruptf("%v", err)
	case errors.Is(err, berrors.ErrTimeout):
		return ErrLocked
	case err != nil:
		return err
	}
	defer db.Close()
	return db.View(func(tx *bolt.Tx) error {
		var problems []error
		for e := range tx.Check() {
			if len(problems) < 5 {
				problems = append(problems, e)
			}
		}
		if len(problems) > 0 {
			return corruptf("bbolt check: %v", errors.Join(problems...))
		}
		if k, _ := tx.Cursor().First(); k == nil {
			// bbolt's own first four pages and nothing else: the power went
			// before the first transaction committed. Not damage: a new file.
			return nil
		}
		if n, err := schemaOf(tx); err == nil && n > SchemaVersion {
			info.Schema = n // newer firmware's layout: not ours to judge
			return nil
		}
		all, err := load(tx)
		if err != nil {
			return err
		}
		info.Schema, info.Phones, info.Assignments, info.LastEvent = all.Schema, len(all.Phones), len(all.Assignments), all.LastEvent
		return checkEvents(tx)
	})
}
