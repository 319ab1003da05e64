//go:build !linux

package clock

import (
	"errors"
	"time"
)

func stepSystemClock(time.Duration) error {
	return errors.New("setting the clock is implemented for Linux only")
}

// KernelSynced reports false: only Linux is asked.
func KernelSynced() bool { return false }
