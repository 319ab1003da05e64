package watchdog

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

type fakeDog struct {
	mu    sync.Mutex
	pings []time.Time
}

func (d *fakeDog) Ping() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.pings = append(d.pings, time.Now())
	return nil
}

func (d *fakeDog) Timeout() (time.Duration, error) { return 15 * time.Second, nil }

func (d *fakeDog) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.pings)
}

// Fed every third of the timeout while healthy; not once more after the
// health check fails.
func TestFeedsWhileHealthy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dog := &fakeDog{}
		var mu sync.Mutex
		var sick error
		f := &Feeder{Dog: dog, Healthy: func() error { mu.Lock(); defer mu.Unlock(); return sick }}
		done := make(chan error, 1)
		go func() { done <- f.Run(t.Context()) }()

		time.Sleep(60*time.Second + time.Millisecond)
		synctest.Wait()
		if got := dog.count(); got != 13 { // at 0, 5, 10 … 60 s
			t.Fatalf("%d pings in 60 s with a 15 s timeout, want 13", got)
		}
		mu.Lock()
		sick = errors.New("store: read-only")
		mu.Unlock()
		time.Sleep(5 * time.Second)
		synctest.Wait()
		err := <-done
		if !errors.Is(err, ErrUnhealthy) {
			t.Fatalf("Run = %v, want ErrUnhealthy", err)
		}
		if got := dog.count(); got != 13 {
			t.Errorf("%d pings, want none after the health check failed", got)
		}
	})
}

// A health check that blocks (a deadlock) means no ping.
func TestBlockedHealthCheckStarves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dog := &fakeDog{}
		block := make(chan struct{})
		calls := 0
		f := &Feeder{Dog: dog, Interval: time.Second, Healthy: func() error {
			calls++
			if calls > 2 {
				<-block
			}
			return nil
		}}
		ctx, cancel := context.WithCancel(t.Context())
		go f.Run(ctx)
		time.Sleep(30 * time.Second)
		synctest.Wait()
		if got := dog.count(); got != 2 {
			t.Errorf("%d pings, want 2: none once the health check hangs", got)
		}
		close(block)
		cancel()
	})
}

// A clean stop leaves the device armed: Run only returns.
func TestStopReturnsNil(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		f := &Feeder{Dog: &fakeDog{}, Healthy: func() error { return nil }}
		done := make(chan error, 1)
		go func() { done <- f.Run(ctx) }()
		time.Sleep(time.Second)
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v after cancel, want nil", err)
		}
	})
}
