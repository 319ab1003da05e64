package store

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"syscall"

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
	info, _, err = verifyLoad(path)
	return info, err
}

// verified is the state decoded while verifying a file, kept for the
// Load that follows Open so the records are decoded once, not twice.
type verified struct {
	txid     uint64 // the transaction it was read at
	contents Contents
}

// verifyLoad is verifyFile that also returns what it decoded (nil for a
// new, empty file or one from newer firmware).
func verifyLoad(path string) (info FileInfo, v *verified, err error) {
	if err := walkFile(path, &info); err != nil {
		return info, nil, err
	}
	v, err = checkWithBolt(path, &info)
	if err == nil && info.Schema > SchemaVersion {
		return info, nil, fmt.Errorf("%w: database schema %d is newer than this firmware supports (%d)", ErrTooNew, info.Schema, SchemaVersion)
	}
	if err != nil {
		return info, nil, err
	}
	return info, v, nil
}

// walkFile checks the page structure of the file at path (see
// verifyStructure) and sets info's Size and TxID. The file is mapped, not
// read: a copy on the heap would be the largest allocation of a start and
// stay resident until the runtime hands it back. A fault while reading
// the mapping (the file shrank under us) is damage, not a crash.
func walkFile(path string, info *FileInfo) (err error) {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	info.Size = st.Size()
	if st.Size() == 0 || st.Size() != int64(int(st.Size())) {
		return corruptf("file size %d", st.Size())
	}
	buf, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("map %s: %w", path, err)
	}
	defer syscall.Munmap(buf)
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = corruptf("reading it failed: %v", r)
		}
	}()
	metas, err := readMetas(buf)
	if err != nil {
		return err
	}
	if err := verifyStructure(buf, metas[0]); err != nil {
		return err
	}
	info.TxID = metas[0].txid
	return nil
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
func checkWithBolt(path string, info *FileInfo) (v *verified, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, corruptf("reading it failed: %v", r)
		}
	}()
	db, err := bolt.Open(path, 0o400, &bolt.Options{ReadOnly: true, Timeout: lockTimeout})
	switch {
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrVersionMismatch):
		return nil, corruptf("%v", err)
	case errors.Is(err, berrors.ErrTimeout):
		return nil, ErrLocked
	case err != nil:
		return nil, err
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
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
		if err := checkEvents(tx); err != nil {
			return err
		}
		v = &verified{txid: uint64(tx.ID()), contents: all}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}
