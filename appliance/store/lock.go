package store

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// lockPoll is how often lockFile retries a lock another process holds.
const lockPoll = 50 * time.Millisecond

// lockFile takes an exclusive flock on path (created if needed) and keeps
// it until the returned file is closed. It guards the database file and
// everything around it (snapshots, recovery, restore) against a second
// pnpd; bbolt's own lock on the database file cannot, because recovery
// must look at the file before bbolt opens it. The kernel drops the lock
// when the process dies, so nothing stale survives a crash.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	for deadline := 0; ; deadline++ {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || deadline >= int(lockTimeout/lockPoll) {
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, ErrLocked
			}
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		time.Sleep(lockPoll)
	}
}
