// Package panel gives the front panel its meaning: which LED pattern says
// what the box is doing, and what a button press asks for. It drives the
// hardware through two small interfaces it defines, LED and Button, which
// board/gpio and board/sim implement.
package panel

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Pattern is what the LED shows, also reported as "led" in /api/status.
type Pattern string

// The patterns, in order of precedence (see PatternFor).
const (
	Booting Pattern = "booting" // starting up
	Error   Pattern = "error"   // no link, no address, storage fault
	Busy    Pattern = "busy"    // NOTIFYs out, downloads awaited
	Pending Pattern = "pending" // phones waiting for a press
	Idle    Pattern = "idle"    // ready, nothing pending
)

// LED is one on/off indicator. Implementations must be safe for
// concurrent use.
type LED interface {
	Set(on bool) error
}

// PatternLED is an LED that shows patterns by itself (the simulated board
// logs them rather than blinking); the panel then skips blinking.
type PatternLED interface {
	ShowPattern(Pattern)
}

// Button reports the button's level changes. Wait blocks until the level
// changes or ctx is done, and returns the new level (true = pressed).
type Button interface {
	Wait(ctx context.Context) (pressed bool, err error)
}

// Press is one completed press of the button.
type Press struct {
	Held time.Duration
}

// LongPress is how long a hold must last to mean "claim" rather than
// "provision all pending".
const LongPress = 5 * time.Second

// Long reports whether the press was a hold of at least LongPress.
func (p Press) Long() bool { return p.Held >= LongPress }

// Inputs is what the LED reflects.
type Inputs struct {
	Booting bool
	Fault   string // non-empty: no link, no address, storage fault…
	Busy    int
	Pending int
}

// PatternFor maps the box's condition to a pattern: a fault outranks
// activity, activity outranks waiting.
func PatternFor(in Inputs) Pattern {
	switch {
	case in.Booting:
		return Booting
	case in.Fault != "":
		return Error
	case in.Busy > 0:
		return Busy
	case in.Pending > 0:
		return Pending
	}
	return Idle
}

// Panel runs the LED and the button. Safe for concurrent use.
type Panel struct {
	led     LED
	btn     Button
	log     *slog.Logger
	onPress func(Press)

	mu      sync.Mutex
	pattern Pattern
	changed chan struct{}
}

// New returns a panel showing Booting. onPress is called for every
// completed press, from the panel's goroutine.
func New(led LED, btn Button, log *slog.Logger, onPress func(Press)) *Panel {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Panel{led: led, btn: btn, log: log, onPress: onPress, pattern: Booting, changed: make(chan struct{}, 1)}
}

// Set asks the LED to show p.
func (p *Panel) Set(pat Pattern) {
	p.mu.Lock()
	if p.pattern == pat {
		p.mu.Unlock()
		return
	}
	p.pattern = pat
	p.mu.Unlock()
	select {
	case p.changed <- struct{}{}:
	default:
	}
}

// Pattern returns what the LED shows.
func (p *Panel) Pattern() Pattern {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pattern
}

// Run drives the LED and reads the button until ctx is done; it leaves the
// LED off.
func (p *Panel) Run(ctx context.Context) error {
	go p.readButton(ctx)
	p.show()
	for {
		select {
		case <-ctx.Done():
			p.led.Set(false)
			return nil
		case <-p.changed:
			p.show()
		}
	}
}

func (p *Panel) show() {
	pat := p.Pattern()
	if pl, ok := p.led.(PatternLED); ok {
		pl.ShowPattern(pat)
		return
	}
	p.led.Set(pat != Idle)
}

func (p *Panel) readButton(ctx context.Context) {
	if p.btn == nil {
		return
	}
	var down time.Time
	for {
		pressed, err := p.btn.Wait(ctx)
		if err != nil {
			if ctx.Err() == nil {
				p.log.Error("button", "err", err)
			}
			return
		}
		switch {
		case pressed && down.IsZero():
			down = time.Now()
		case !pressed && !down.IsZero():
			pr := Press{Held: time.Since(down)}
			down = time.Time{}
			if p.onPress != nil {
				p.onPress(pr)
			}
		}
	}
}
