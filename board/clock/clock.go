// Package clock keeps the system clock right by NTP. The Raspberry Pi
// has no real-time clock: it boots in 1970 (or at the build date), and
// event times, snapshot schedules and backup names depend on the clock.
// Clock asks the servers it is given in turn (the DHCP lease's, option
// 42, then the site's ntp_server setting, then a public pool), steps the
// system clock by the measured offset, and says whether it has done so.
// The NTP exchange is github.com/beevik/ntp's.
package clock

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/beevik/ntp"
)

// Pool is the server asked when neither DHCP nor the settings name one.
const Pool = "pool.ntp.org"

// Clock sets the system clock from NTP. Synced is safe for concurrent
// use; Run is called once.
type Clock struct {
	// Servers returns the servers to ask, best first; called before every
	// round, so a new lease or setting is used at once.
	Servers func() []string
	// Query returns the system clock's offset from server's clock (add it
	// to correct the clock). Default: one SNTP exchange (RFC 5905) with a
	// 5 s timeout, checked with ntp.Response.Validate.
	Query func(server string) (time.Duration, error)
	// Step corrects the system clock by offset. Default: settimeofday
	// (Linux, needs CAP_SYS_TIME).
	Step func(offset time.Duration) error
	// Poll is the time between rounds once synced (default 15 min).
	Poll time.Duration
	Log  *slog.Logger

	synced atomic.Bool
}

// Synced reports whether the clock has been set from NTP.
func (c *Clock) Synced() bool { return c.synced.Load() }

// threshold: smaller offsets are left alone (the next round's reading
// jitters by a few milliseconds; stepping backwards for that is worse).
const threshold = 100 * time.Millisecond

// Run asks the servers until ctx is done: every 2 s, doubling to 64 s,
// until one answers; then every Poll. It returns nil when ctx is done.
func (c *Clock) Run(ctx context.Context) error {
	log := c.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	query, step, poll := c.Query, c.Step, c.Poll
	if query == nil {
		query = sntp
	}
	if step == nil {
		step = stepSystemClock
	}
	if poll <= 0 {
		poll = 15 * time.Minute
	}
	retry := 2 * time.Second
	for {
		wait := poll
		if err := c.round(query, step, log); err != nil {
			if !c.Synced() {
				log.Warn("NTP: clock not set yet", "err", err, "retry_in", retry)
				wait = retry
				retry = min(2*retry, 64*time.Second)
			} else {
				log.Debug("NTP", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// round asks the servers in turn and steps the clock by the first answer.
func (c *Clock) round(query func(string) (time.Duration, error), step func(time.Duration) error, log *slog.Logger) error {
	var errs []error
	servers := c.Servers()
	if len(servers) == 0 {
		return errors.New("no NTP server")
	}
	for _, s := range servers {
		off, err := query(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s, err))
			continue
		}
		if off > threshold || off < -threshold {
			if err := step(off); err != nil {
				return fmt.Errorf("set the clock by %v from %s: %w", off, s, err)
			}
			log.Info("NTP: clock set", "server", s, "offset", off.String())
		}
		if !c.synced.Swap(true) {
			log.Info("NTP: time synced", "server", s)
		}
		return nil
	}
	return errors.Join(errs...)
}

func sntp(server string) (time.Duration, error) {
	r, err := ntp.QueryWithOptions(server, ntp.QueryOptions{Timeout: 5 * time.Second})
	if err != nil {
		return 0, err
	}
	if err := r.Validate(); err != nil {
		return 0, err
	}
	return r.ClockOffset, nil
}
