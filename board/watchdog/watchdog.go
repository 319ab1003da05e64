// Package watchdog feeds the hardware watchdog (/dev/watchdog) while the
// daemon is healthy, so a hung or deadlocked pnpd resets the board
// instead of leaving a box that looks alive and answers nothing.
//
// The device is never disarmed: no magic close, not even on a clean exit.
// init restarts pnpd at once and the new one opens the device again well
// within the timeout; a pnpd that does not come back resets the board.
package watchdog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	wd "github.com/mdlayher/watchdog"
)

// Dog is a watchdog device: Ping restarts its countdown, Timeout is the
// countdown's length. *github.com/mdlayher/watchdog.Device satisfies it.
type Dog interface {
	Ping() error
	Timeout() (time.Duration, error)
}

// Open opens /dev/watchdog; from then on the board resets unless it is
// fed (Feeder.Run) within its timeout.
func Open() (Dog, error) {
	d, err := wd.Open()
	if err != nil {
		return nil, fmt.Errorf("open /dev/watchdog: %w", err)
	}
	return d, nil
}

// Feeder pings Dog every Interval for as long as Healthy says the daemon
// is healthy. Healthy runs on Run's goroutine: if it blocks (a deadlock
// in what it checks), no ping is sent and the board resets, which is the
// point.
type Feeder struct {
	Dog Dog
	// Healthy returns nil when the daemon is fit to keep running, else
	// what is wrong.
	Healthy func() error
	// Interval between pings; zero: a third of the device's timeout
	// (5 s if the device does not say).
	Interval time.Duration
	Log      *slog.Logger
}

// ErrUnhealthy wraps the health error Run returns with when it stops
// feeding.
var ErrUnhealthy = errors.New("watchdog: not fed any more")

// Run feeds the dog until ctx is done (it returns nil then, leaving the
// device armed) or Healthy fails (it returns an error wrapping
// ErrUnhealthy and the board resets when the timeout runs out).
func (f *Feeder) Run(ctx context.Context) error {
	log := f.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	interval := f.Interval
	if interval <= 0 {
		interval = 5 * time.Second
		if d, err := f.Dog.Timeout(); err == nil && d > 0 {
			interval = d / 3
		}
	}
	log.Info("feeding the hardware watchdog", "every", interval)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := f.Healthy(); err != nil {
			log.Error("unhealthy: no longer feeding the watchdog; the board will reset", "err", err)
			return fmt.Errorf("%w: %w", ErrUnhealthy, err)
		}
		if err := f.Dog.Ping(); err != nil {
			log.Warn("watchdog ping", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
