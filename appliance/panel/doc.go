// Package panel gives the front panel its meaning: which LED pattern says
// what the box is doing, and what a button press asks for. It drives the
// hardware through two small interfaces it defines, LED and Button, which
// board/gpio and board/sim implement; it never sees a GPIO pin.
//
// The LED shows one of five patterns (also reported as "led" in
// /api/status), each a loop of on/off steps (see Timing):
//
//	pattern  meaning                                   LED
//	booting  starting up, no address yet               100 ms blip once a second
//	idle     ready, nothing pending                    steady on
//	pending  phones wait for a press                   slow blink, 500 ms on / 500 ms off
//	busy     NOTIFYs out, downloads awaited            fast blink, 125 ms on / 125 ms off
//	error    no link, no address, storage fault        double flash: 150 on, 150 off, 150 on, 1050 off
//
// On top of the pattern the LED acknowledges the button: a press is
// answered at once (after debouncing) with a 320 ms flicker (four 40 ms
// flashes), and a hold that reaches LongPress with two seconds of steady
// light and half a second dark, so the installer knows to let go. The
// pattern then resumes from its start.
//
// The button is debounced (a level counts once it has held for Debounce).
// A press shorter than LongPress means "provision all pending"; a hold of
// LongPress or more means "claim mode" (see Claim). What a press does is
// the caller's onPress: the panel only measures it.
package panel
