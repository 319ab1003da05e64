package panel

import "time"

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

// Step is one phase of a blink loop: the LED on or off for For. A step
// with For == 0 lasts until the pattern changes.
type Step struct {
	On  bool
	For time.Duration
}

const ms = time.Millisecond

// The timings of the package doc's table. Distinct at a glance: steady,
// even slow, even fast, a single blip and a double flash.
var timings = map[Pattern][]Step{
	Booting: {{true, 100 * ms}, {false, 900 * ms}},
	Idle:    {{true, 0}},
	Pending: {{true, 500 * ms}, {false, 500 * ms}},
	Busy:    {{true, 125 * ms}, {false, 125 * ms}},
	Error:   {{true, 150 * ms}, {false, 150 * ms}, {true, 150 * ms}, {false, 1050 * ms}},
}

// Acknowledgements played once over the pattern.
var (
	// AckPress: the button went down (four 40 ms flashes).
	AckPress = []Step{{true, 40 * ms}, {false, 40 * ms}, {true, 40 * ms}, {false, 40 * ms},
		{true, 40 * ms}, {false, 40 * ms}, {true, 40 * ms}, {false, 40 * ms}}
	// AckHold: the button has been held for LongPress: let go for claim
	// mode.
	AckHold = []Step{{true, 2000 * ms}, {false, 500 * ms}}
)

// Timing returns the loop of steps p blinks (a copy); an unknown pattern
// blinks as Error.
func Timing(p Pattern) []Step {
	t, ok := timings[p]
	if !ok {
		t = timings[Error]
	}
	return append([]Step(nil), t...)
}
