//go:build linux

package gpio

import (
	"fmt"
	"strings"
	"sync"

	"periph.io/x/conn/v3/driver/driverreg"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/host/v3/gpioioctl" // the only driver registered: no bcm283x (see the package doc)
)

var initOnce = sync.OnceValue(func() error {
	// periph's registry is process-wide by design; Init runs each driver
	// once however often it is called.
	st, err := driverreg.Init()
	if err != nil {
		return fmt.Errorf("periph: %w", err)
	}
	for _, f := range st.Failed {
		if f.D.String() == "ioctl-gpio" {
			return fmt.Errorf("%w: %v", ErrNoChip, f.Err)
		}
	}
	if len(gpioioctl.Chips) == 0 {
		return ErrNoChip
	}
	return nil
})

// Open finds the configured lines on the machine's GPIO chips and sets
// them up: the LED as an output (off), the button as an input with its
// pull and edge detection. An error names the line and lists the chips
// found.
func Open(cfg Config) (*Board, error) {
	if cfg.LED == "" {
		cfg.LED = DefaultLED
	}
	if cfg.Button == "" {
		cfg.Button = DefaultButton
	}
	if err := initOnce(); err != nil {
		return nil, err
	}
	ledLine, err := findLine(cfg.LED)
	if err != nil {
		return nil, fmt.Errorf("LED line %s: %w", cfg.LED, err)
	}
	btnLine, err := findLine(cfg.Button)
	if err != nil {
		return nil, fmt.Errorf("button line %s: %w", cfg.Button, err)
	}
	if ledLine == btnLine {
		return nil, fmt.Errorf("LED %s and button %s are the same line", cfg.LED, cfg.Button)
	}
	led, err := NewLED(ledLine)
	if err != nil {
		return nil, err
	}
	btn, err := NewButton(btnLine, cfg.ButtonActiveLow)
	if err != nil {
		ledLine.Close()
		return nil, err
	}
	return &Board{LED: led, Button: btn, close: func() { ledLine.Close(); btnLine.Close() }}, nil
}

func findLine(s string) (*gpioioctl.GPIOLine, error) {
	spec, err := parseLine(s)
	if err != nil {
		return nil, err
	}
	chips := gpioioctl.Chips // sorted by the driver: pinctrl-* (the SoC's) first
	var line *gpioioctl.GPIOLine
	switch {
	case spec.chip != "":
		for _, c := range chips {
			if c.Name() == spec.chip || c.Label() == spec.chip {
				if spec.offset >= c.LineCount() {
					return nil, fmt.Errorf("%s has %d lines, no line %d", c.Name(), c.LineCount(), spec.offset)
				}
				line = c.ByNumber(spec.offset)
			}
		}
	default:
		for _, c := range chips {
			if line = c.ByName(spec.name); line != nil {
				break
			}
		}
		if line == nil && spec.offset >= 0 && len(chips) > 0 && spec.offset < chips[0].LineCount() {
			line = chips[0].ByNumber(spec.offset)
		}
	}
	if line == nil {
		return nil, fmt.Errorf("no such GPIO line; chips found: %s", describeChips(chips))
	}
	return line, nil
}

// describeChips lists the chips for an error message, with a few line
// names so the installer sees how lines are called here.
func describeChips(chips []*gpioioctl.GPIOChip) string {
	if len(chips) == 0 {
		return "none"
	}
	var parts []string
	for _, c := range chips {
		var names []string
		for _, l := range c.Lines() {
			if n := l.Name(); n != "" && len(names) < 4 {
				names = append(names, n)
			}
		}
		d := fmt.Sprintf("%s [%s] %d lines", c.Name(), c.Label(), c.LineCount())
		if len(names) == 0 {
			d += ", unnamed (use " + c.Name() + ":OFFSET)"
		} else {
			d += ", e.g. " + strings.Join(names, " ")
		}
		parts = append(parts, d)
	}
	return strings.Join(parts, "; ")
}

var _ gpio.PinIO = (*gpioioctl.GPIOLine)(nil)
