// Package gpio is the front panel on real hardware: the status LED and the
// push button on GPIO lines, through periph's driver for the Linux GPIO
// character device (/dev/gpiochip*, uAPI v2). That driver works the same on
// a Raspberry Pi 4, CM4 and Pi 5, needs no cgo, and, unlike periph's
// bcm283x driver, never maps SoC registers: on a Pi 5 those would be the
// Pi 4's addresses (reference/go-stack.md §4). LED and Button satisfy
// appliance/panel's interfaces structurally; no periph type leaves this
// package.
//
// gpio.go drives the lines (the LED, the debounced button); open.go names
// and opens them from Config, through the Linux character device
// (open_linux.go; elsewhere Open fails with ErrNoChip).
package gpio
