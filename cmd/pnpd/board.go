package main

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/pnpbox/pnpbox/appliance/panel"
	"github.com/pnpbox/pnpbox/board/gpio"
	"github.com/pnpbox/pnpbox/board/sim"
)

// board is the front-panel hardware.
type board struct {
	led    panel.LED
	button panel.Button
	press  func(hold time.Duration) // nil unless simulated
	close  func()                   // leaves the LED off
}

// openBoard opens the panel -board names. auto takes the GPIO lines when
// the machine has a GPIO chip and they open, else the simulation (a
// laptop may have a GPIO chip with nothing wired to it); rpi insists.
func openBoard(o *options, log *slog.Logger) (*board, error) {
	sel := o.board
	if sel == "auto" {
		sel = "sim"
		if chips, _ := filepath.Glob("/dev/gpiochip*"); len(chips) > 0 {
			sel = "rpi"
		}
	}
	if sel == "rpi" {
		b, err := gpio.Open(gpio.Config{LED: o.ledGPIO, Button: o.buttonGPIO, ButtonActiveLow: o.buttonActiveLow})
		switch {
		case err == nil:
			log.Info("front panel on GPIO", "led", o.ledGPIO, "button", o.buttonGPIO, "active_low", o.buttonActiveLow)
			return &board{led: b.LED, button: b.Button, close: func() { b.Close() }}, nil
		case o.board == "rpi":
			return nil, fmt.Errorf("-board rpi (-led-gpio %s, -button-gpio %s): %w", o.ledGPIO, o.buttonGPIO, err)
		case errors.Is(err, gpio.ErrNoChip):
		default:
			log.Warn("GPIO chip present but the front panel did not open; simulating it (use -board rpi to insist)", "err", err)
		}
	}
	btn := sim.NewButton()
	return &board{led: &sim.LED{Log: log.With("component", "board")}, button: btn, press: btn.Press, close: func() {}}, nil
}
