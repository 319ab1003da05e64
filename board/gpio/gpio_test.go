package gpio

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pnpbox/pnpbox/appliance/panel"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

var (
	_ panel.LED    = (*LED)(nil)
	_ panel.Button = (*Button)(nil)
)

func TestParseLine(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want lineSpec
		err  bool
	}{
		{"GPIO17", lineSpec{name: "GPIO17", offset: -1}, false},
		{"17", lineSpec{name: "GPIO17", offset: 17}, false},
		{"gpiochip0:3", lineSpec{chip: "gpiochip0", offset: 3}, false},
		{"/dev/gpiochip1:0", lineSpec{chip: "gpiochip1", offset: 0}, false},
		{"gpiochip0:x", lineSpec{}, true},
		{":3", lineSpec{}, true},
		{"-1", lineSpec{}, true},
		{"", lineSpec{}, true},
	} {
		got, err := parseLine(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("parseLine(%q) = %+v, %v; want %+v, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestLED(t *testing.T) {
	pin := &gpiotest.Pin{N: "GPIO17", Num: 17, L: gpio.High}
	led, err := NewLED(pin)
	if err != nil {
		t.Fatal(err)
	}
	if pin.Read() != gpio.Low {
		t.Error("NewLED left the LED on")
	}
	led.Set(true)
	if pin.Read() != gpio.High {
		t.Error("Set(true) did not drive the line high")
	}
}

// TestButtonWiring: active-low gets the pull-up and reads low as pressed;
// active-high the pull-down.
func TestButtonWiring(t *testing.T) {
	for _, activeLow := range []bool{true, false} {
		pin := &gpiotest.Pin{N: "GPIO27", Num: 27, EdgesChan: make(chan gpio.Level, 4)}
		b, err := NewButton(pin, activeLow)
		if err != nil {
			t.Fatal(err)
		}
		wantPull := map[bool]gpio.Pull{true: gpio.PullUp, false: gpio.PullDown}[activeLow]
		if pin.P != wantPull || b.Pressed() {
			t.Errorf("activeLow=%v: pull %s, pressed at rest %v", activeLow, pin.P, b.Pressed())
		}
		pin.EdgesChan <- !pin.Read() // the contact closes
		got, err := b.Wait(t.Context())
		if err != nil || !got {
			t.Errorf("activeLow=%v: Wait after the contact closed = %v, %v", activeLow, got, err)
		}
	}
}

// recLED remembers the (fake) times the LED changed.
type recLED struct {
	mu  sync.Mutex
	led *LED
	pin *gpiotest.Pin
	at  []time.Time
}

func (r *recLED) Set(on bool) error {
	r.mu.Lock()
	if gpio.Level(on) != r.pin.Read() {
		r.at = append(r.at, time.Now())
	}
	r.mu.Unlock()
	return r.led.Set(on)
}

func (r *recLED) changes() []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Time(nil), r.at...)
}

// TestPanelOverPins: the panel over fake periph pins, in a synctest
// bubble: a bouncing press on the GPIO line becomes one short press,
// acknowledged on the LED line within the debounce time, and a 6 s hold
// one long press; no real time passes.
func TestPanelOverPins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ledPin := &gpiotest.Pin{N: "GPIO17", Num: 17}
		btnPin := &gpiotest.Pin{N: "GPIO27", Num: 27, EdgesChan: make(chan gpio.Level)}
		led, err := NewLED(ledPin)
		if err != nil {
			t.Fatal(err)
		}
		btn, err := NewButton(btnPin, true)
		if err != nil {
			t.Fatal(err)
		}
		rec := &recLED{led: led, pin: ledPin}
		var mu sync.Mutex
		var presses []panel.Press
		p := panel.New(rec, btn, nil, func(pr panel.Press) { mu.Lock(); presses = append(presses, pr); mu.Unlock() })
		p.Set(panel.Idle)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- p.Run(ctx) }()

		press := func(hold time.Duration) time.Time {
			for _, l := range []gpio.Level{gpio.Low, gpio.High, gpio.Low, gpio.High, gpio.Low} {
				btnPin.EdgesChan <- l
				time.Sleep(time.Millisecond)
			}
			at := time.Now()
			time.Sleep(hold)
			for _, l := range []gpio.Level{gpio.High, gpio.Low, gpio.High} {
				btnPin.EdgesChan <- l
				time.Sleep(time.Millisecond)
			}
			time.Sleep(3 * time.Second)
			return at
		}
		time.Sleep(time.Second)
		at := press(200 * time.Millisecond)
		ackWithin := time.Duration(-1)
		for _, c := range rec.changes() {
			if !c.Before(at) {
				ackWithin = c.Sub(at)
				break
			}
		}
		// Idle is steady on: the flicker's first change is its first dark
		// step, one flash (40 ms) after the debounce.
		if ackWithin < 0 || ackWithin > panel.Debounce+panel.AckPress[0].For {
			t.Errorf("LED acknowledged the press after %v, want within %v", ackWithin, panel.Debounce+panel.AckPress[0].For)
		}
		press(6 * time.Second)
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		if len(presses) != 2 || presses[0].Long() || !presses[1].Long() {
			t.Errorf("presses = %v, want one short and one long", presses)
		}
		if ledPin.Read() != gpio.Low {
			t.Error("LED line left high after Run")
		}
	})
}
