// Package sim is the simulated board for laptops and tests: its LED logs
// the pattern it is asked to show, and its button is pressed through the
// API or SIGUSR1.
package sim

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/pnpbox/pnpbox/appliance/panel"
)

// LED logs patterns. Safe for concurrent use.
type LED struct {
	Log *slog.Logger
	mu  sync.Mutex
	on  bool
	pat panel.Pattern
}

var (
	_ panel.LED        = (*LED)(nil)
	_ panel.PatternLED = (*LED)(nil)
	_ panel.Button     = (*Button)(nil)
)

// Set records the level.
func (l *LED) Set(on bool) error {
	l.mu.Lock()
	l.on = on
	l.mu.Unlock()
	return nil
}

// ShowPattern logs a pattern change.
func (l *LED) ShowPattern(p panel.Pattern) {
	l.mu.Lock()
	changed := l.pat != p
	l.pat = p
	l.mu.Unlock()
	if changed && l.Log != nil {
		l.Log.Info("LED", "pattern", string(p))
	}
}

// Pattern returns the last pattern shown.
func (l *LED) Pattern() panel.Pattern {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pat
}

// Button is pressed programmatically. Safe for concurrent use.
type Button struct {
	levels chan bool
}

// NewButton returns a released button.
func NewButton() *Button { return &Button{levels: make(chan bool, 16)} }

// Press presses the button, holds it for hold, and releases it. It
// returns once the press is queued; the hold runs in the background.
func (b *Button) Press(hold time.Duration) {
	b.levels <- true
	if hold <= 0 {
		b.levels <- false
		return
	}
	time.AfterFunc(hold, func() { b.levels <- false })
}

// Wait returns the next level change.
func (b *Button) Wait(ctx context.Context) (bool, error) {
	select {
	case <-ctx.Done():
		return false, ctx.Err()
	case l := <-b.levels:
		return l, nil
	}
}
