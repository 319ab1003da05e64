package panel

import (
	"context"
	"log/slog"
	"sync"
	"time"
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
// changes or ctx is done (it must return soon after), and returns the new
// level (true = pressed).
// Levels may bounce: the panel debounces them.
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

// Debounce is how long the button's level must hold still before it
// counts: contacts bounce for a few milliseconds, a finger presses for
// a hundred or more.
const Debounce = 30 * time.Millisecond

// Long reports whether the press was a hold of at least LongPress.
func (p Press) Long() bool { return p.Held >= LongPress }

// Panel runs the LED and the button. Its methods are safe for concurrent
// use; Run may be called once.
type Panel struct {
	led     LED
	btn     Button
	log     *slog.Logger
	onPress func(Press)

	mu      sync.Mutex
	pattern Pattern
	changed chan struct{}
}

// New returns a panel showing Booting. onPress (may be nil) is called for
// every completed press, from the panel's goroutine: it must not block
// for long, or the LED stalls. btn may be nil (no button).
func New(led LED, btn Button, log *slog.Logger, onPress func(Press)) *Panel {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Panel{led: led, btn: btn, log: log, onPress: onPress, pattern: Booting, changed: make(chan struct{}, 1)}
}

// Set asks the LED to show pat.
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
// LED off. All timing lives in this one goroutine (plus one that waits on
// the button), so it runs unchanged under testing/synctest.
func (p *Panel) Run(ctx context.Context) error {
	levels := make(chan bool, 16)
	reader := make(chan struct{})
	if p.btn != nil {
		go func() { defer close(reader); p.readButton(ctx, levels) }()
	} else {
		close(reader)
	}
	d := &driver{led: p.led, log: p.log, timer: time.NewTimer(time.Hour)}
	d.timer.Stop()
	d.show(p.Pattern())

	var (
		stable, candidate bool      // debounced level, last raw level
		down              time.Time // when the debounced press began
		settle            = time.NewTimer(time.Hour)
		hold              = time.NewTimer(time.Hour)
	)
	settle.Stop()
	hold.Stop()
	for {
		select {
		case <-ctx.Done():
			settle.Stop()
			hold.Stop()
			d.timer.Stop()
			d.set(false)
			<-reader // a part that has returned leaves nothing behind
			return nil
		case <-p.changed:
			d.show(p.Pattern())
		case <-d.timer.C:
			d.next()
		case l := <-levels:
			candidate = l
			settle.Reset(Debounce)
		case <-settle.C:
			if candidate == stable {
				break // a bounce that came back: nothing happened
			}
			stable = candidate
			if stable {
				down = time.Now()
				hold.Reset(LongPress)
				p.log.Debug("button down")
				d.ack(AckPress)
				break
			}
			hold.Stop()
			pr := Press{Held: time.Since(down)}
			p.log.Debug("button up", "held", pr.Held)
			if p.onPress != nil {
				p.onPress(pr)
			}
		case <-hold.C:
			if stable {
				p.log.Info("button held for claim mode: release it now")
				d.ack(AckHold)
			}
		}
	}
}

func (p *Panel) readButton(ctx context.Context, levels chan<- bool) {
	for {
		pressed, err := p.btn.Wait(ctx)
		if err != nil {
			if ctx.Err() == nil {
				p.log.Error("button stopped working", "err", err)
			}
			return
		}
		select {
		case levels <- pressed:
		case <-ctx.Done():
			return
		}
	}
}

// driver plays a pattern's loop on the LED, interrupted by
// acknowledgements. Used by Run's goroutine only.
type driver struct {
	led   LED
	log   *slog.Logger
	timer *time.Timer

	pattern Pattern
	loop    []Step
	ackSeq  []Step // playing while non-empty
	i       int
	failing bool
}

func (d *driver) show(pat Pattern) {
	d.pattern = pat
	if pl, ok := d.led.(PatternLED); ok {
		pl.ShowPattern(pat)
		return
	}
	d.loop = Timing(pat)
	if len(d.ackSeq) == 0 {
		d.i = 0
		d.play()
	}
}

func (d *driver) ack(seq []Step) {
	if _, ok := d.led.(PatternLED); ok {
		d.log.Info("LED acknowledges the button")
		return
	}
	d.ackSeq = seq
	d.i = 0
	d.play()
}

// play shows the current step and arms the timer for its end.
func (d *driver) play() {
	steps := d.loop
	if len(d.ackSeq) > 0 {
		steps = d.ackSeq
	}
	s := steps[d.i]
	d.set(s.On)
	d.timer.Stop()
	if s.For > 0 {
		d.timer.Reset(s.For)
	}
}

func (d *driver) next() {
	d.i++
	if len(d.ackSeq) > 0 {
		if d.i < len(d.ackSeq) {
			d.play()
			return
		}
		d.ackSeq = nil
		d.i = 0
	}
	if d.i >= len(d.loop) {
		d.i = 0
	}
	d.play()
}

// set drives the LED, logging a failure once until it works again.
func (d *driver) set(on bool) {
	err := d.led.Set(on)
	switch {
	case err != nil && !d.failing:
		d.log.Error("LED", "err", err)
		d.failing = true
	case err == nil:
		d.failing = false
	}
}
