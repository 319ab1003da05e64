package clock

import (
	"errors"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The servers are asked in order until one answers; the clock is
// stepped by that one's offset and Synced turns true.
func TestFirstAnsweringServerSetsTheClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var asked []string
		var steps []time.Duration
		c := &Clock{
			Servers: func() []string { return []string{"198.18.0.1", "ntp.example.net", Pool} },
			Query: func(s string) (time.Duration, error) {
				mu.Lock()
				defer mu.Unlock()
				asked = append(asked, s)
				if s == "198.18.0.1" {
					return 0, errors.New("timeout")
				}
				return 56 * 365 * 24 * time.Hour, nil // booted in 1970
			},
			Step: func(d time.Duration) error { mu.Lock(); defer mu.Unlock(); steps = append(steps, d); return nil },
		}
		if c.Synced() {
			t.Fatal("synced before any round")
		}
		go c.Run(t.Context())
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		if diff := cmp.Diff([]string{"198.18.0.1", "ntp.example.net"}, asked); diff != "" {
			t.Errorf("asked (-want +got)\n%s", diff)
		}
		if diff := cmp.Diff([]time.Duration{56 * 365 * 24 * time.Hour}, steps); diff != "" {
			t.Errorf("steps (-want +got)\n%s", diff)
		}
		if !c.Synced() {
			t.Error("not synced after a server answered")
		}
	})
}

// Nobody answers: not synced, asked again after 2, 4, 8 … s, and the
// first answer then syncs. An offset within the threshold is not
// stepped (but counts as synced).
func TestRetriesUntilAnAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var at []time.Duration
		start := time.Now()
		up := false
		steps := 0
		c := &Clock{
			Servers: func() []string { return []string{Pool} },
			Query: func(string) (time.Duration, error) {
				mu.Lock()
				defer mu.Unlock()
				at = append(at, time.Since(start))
				if !up {
					return 0, errors.New("no route")
				}
				return 3 * time.Millisecond, nil
			},
			Step: func(time.Duration) error { mu.Lock(); defer mu.Unlock(); steps++; return nil },
		}
		go c.Run(t.Context())
		time.Sleep(15 * time.Second)
		synctest.Wait()
		mu.Lock()
		if diff := cmp.Diff([]time.Duration{0, 2 * time.Second, 6 * time.Second, 14 * time.Second}, at); diff != "" {
			t.Errorf("queries at (-want +got)\n%s", diff)
		}
		up = true
		mu.Unlock()
		if c.Synced() {
			t.Fatal("synced without an answer")
		}
		time.Sleep(16 * time.Second)
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		if !c.Synced() || steps != 0 {
			t.Errorf("synced %v, %d steps; want synced and no step for a 3 ms offset", c.Synced(), steps)
		}
	})
}

func TestNoServer(t *testing.T) {
	c := &Clock{Servers: func() []string { return nil }}
	if err := c.round(sntp, func(time.Duration) error { return nil }, slog.New(slog.DiscardHandler)); err == nil {
		t.Error("a round with no server succeeded")
	}
}
