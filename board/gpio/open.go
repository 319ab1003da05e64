package gpio

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Config names the lines. A line is given as its name from the device
// tree ("GPIO17", what the Raspberry Pi device trees call BCM GPIO 17),
// as a bare number ("17": the line named GPIO17, else line 17 of the first
// chip), or as chip:offset ("gpiochip0:17") for chips whose lines have no
// names (QEMU's PL061, many USB GPIO adapters).
type Config struct {
	LED             string // default "GPIO17"
	Button          string // default "GPIO27"
	ButtonActiveLow bool
}

// Defaults for Config: LED on GPIO17 (header pin 11), button on GPIO27
// (header pin 13) to ground, with the internal pull-up.
const (
	DefaultLED    = "GPIO17"
	DefaultButton = "GPIO27"
)

// Board is the opened front panel.
type Board struct {
	LED    *LED
	Button *Button
	close  func()
}

// Close turns the LED off and releases the lines.
func (b *Board) Close() error {
	err := b.LED.Set(false)
	if b.close != nil {
		b.close()
	}
	return err
}

// ErrNoChip means the machine has no GPIO character device.
var ErrNoChip = errors.New("no GPIO chip found (/dev/gpiochip*)")

// lineSpec is a parsed line name.
type lineSpec struct {
	name   string // a line name, or "" for chip/offset
	chip   string // chip name ("gpiochip0"), "" for the first chip
	offset int
}

func parseLine(s string) (lineSpec, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return lineSpec{}, errors.New("empty line name")
	}
	if chip, off, ok := strings.Cut(s, ":"); ok {
		n, err := strconv.Atoi(off)
		if err != nil || n < 0 || chip == "" {
			return lineSpec{}, fmt.Errorf("%q: want CHIP:OFFSET, e.g. gpiochip0:17", s)
		}
		return lineSpec{chip: strings.TrimPrefix(chip, "/dev/"), offset: n}, nil
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 {
			return lineSpec{}, fmt.Errorf("%q: negative line number", s)
		}
		return lineSpec{name: "GPIO" + s, offset: n}, nil
	}
	return lineSpec{name: s, offset: -1}, nil
}
