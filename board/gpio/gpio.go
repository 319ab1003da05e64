package gpio

import (
	"context"
	"fmt"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// LED is an LED wired from a GPIO line through a resistor to ground (on
// when the line is high). Safe for concurrent use.
type LED struct {
	mu  sync.Mutex
	pin gpio.PinOut
}

// NewLED drives pin as an output and turns the LED off.
func NewLED(pin gpio.PinOut) (*LED, error) {
	if err := pin.Out(gpio.Low); err != nil {
		return nil, fmt.Errorf("LED %s: set output: %w", pin, err)
	}
	return &LED{pin: pin}, nil
}

// Set turns the LED on or off.
func (l *LED) Set(on bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.pin.Out(gpio.Level(on)); err != nil {
		return fmt.Errorf("LED %s: %w", l.pin, err)
	}
	return nil
}

// poll bounds each wait for an edge. It must be positive: the GPIO
// character-device driver treats -1 ("forever" elsewhere in periph) as
// already expired and 0 as forever (periph/host#78). It is also how soon
// Wait notices a cancelled context: Halt would interrupt it sooner, but
// gpioioctl's Halt reads the line's file without a lock while the first
// WaitForEdge sets it, a data race; a quarter second at shutdown is
// cheaper.
const poll = 250 * time.Millisecond

// Button is a push button on a GPIO line. Active-low (the default wiring:
// the button connects the line to ground, the internal pull-up holds it
// high) or active-high (to 3.3 V, with the pull-down). Wait may be called
// by one goroutine at a time.
type Button struct {
	pin       gpio.PinIn
	activeLow bool
	last      gpio.Level
}

// NewButton configures pin as an input with the pull that matches the
// wiring and edge detection on both edges.
func NewButton(pin gpio.PinIn, activeLow bool) (*Button, error) {
	pull := gpio.PullDown
	if activeLow {
		pull = gpio.PullUp
	}
	if err := pin.In(pull, gpio.BothEdges); err != nil {
		return nil, fmt.Errorf("button %s: set input with pull and edges: %w", pin, err)
	}
	return &Button{pin: pin, activeLow: activeLow, last: pin.Read()}, nil
}

// Wait blocks until the line's level differs from the last one reported
// and returns whether the button is now pressed. Bounces come through as
// they are; the panel debounces. Edges only wake it: the level is read
// each time, so a missed or coalesced edge cannot leave it out of step.
func (b *Button) Wait(ctx context.Context) (bool, error) {
	for {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		b.pin.WaitForEdge(poll)
		if l := b.pin.Read(); l != b.last {
			b.last = l
			return b.pressed(l), nil
		}
	}
}

// Pressed reports whether the button is down now.
func (b *Button) Pressed() bool { return b.pressed(b.pin.Read()) }

func (b *Button) pressed(l gpio.Level) bool { return l == gpio.Level(!b.activeLow) }
