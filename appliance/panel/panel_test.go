package panel

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// recLED records every level change with the (bubble) time it happened.
type recLED struct {
	start time.Time
	mu    sync.Mutex
	log   []Step // On, and the time since start (in For)
}

func (l *recLED) Set(on bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := len(l.log); n > 0 && l.log[n-1].On == on {
		return nil
	}
	l.log = append(l.log, Step{on, time.Since(l.start)})
	return nil
}

// since returns the changes at or after t, relative to t.
func (l *recLED) since(t time.Duration) []Step {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Step
	for _, s := range l.log {
		if s.For >= t {
			out = append(out, Step{s.On, s.For - t})
		}
	}
	return out
}

// fakeButton delivers levels pushed into it.
type fakeButton struct{ levels chan bool }

func (b *fakeButton) Wait(ctx context.Context) (bool, error) {
	select {
	case <-ctx.Done():
		return false, ctx.Err()
	case l := <-b.levels:
		return l, nil
	}
}

// TestPatternTimings: each pattern blinks its documented loop, measured
// on the LED over three seconds of (fake) time.
func TestPatternTimings(t *testing.T) {
	want := map[Pattern][]Step{
		Booting: {{true, 0}, {false, 100 * ms}, {true, 1000 * ms}, {false, 1100 * ms}, {true, 2000 * ms}, {false, 2100 * ms}},
		Idle:    {{true, 0}},
		Pending: {{true, 0}, {false, 500 * ms}, {true, 1000 * ms}, {false, 1500 * ms}, {true, 2000 * ms}, {false, 2500 * ms}},
		Error:   {{true, 0}, {false, 150 * ms}, {true, 300 * ms}, {false, 450 * ms}, {true, 1500 * ms}, {false, 1650 * ms}, {true, 1800 * ms}, {false, 1950 * ms}},
	}
	busy := []Step{}
	for i := range 24 {
		busy = append(busy, Step{i%2 == 0, time.Duration(i) * 125 * ms})
	}
	want[Busy] = busy
	for pat, w := range want {
		t.Run(string(pat), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				led := &recLED{start: time.Now()}
				p := New(led, nil, nil, nil)
				p.Set(pat)
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan error)
				go func() { done <- p.Run(ctx) }()
				time.Sleep(3*time.Second - time.Nanosecond)
				got := led.since(0)
				cancel()
				<-done
				if len(got) > len(w) {
					got = got[:len(w)] // the loop goes on; the first cycles tell
				}
				if diff := cmp.Diff(w, got); diff != "" {
					t.Errorf("LED changes (-want +got):\n%s", diff)
				}
				if last := led.since(0)[len(led.since(0))-1]; last.On {
					t.Error("LED left on after Run")
				}
			})
		})
	}
}

// TestPatternChangeRestartsLoop: a new pattern shows at once, from its
// first step.
func TestPatternChangeRestartsLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		led := &recLED{start: time.Now()}
		p := New(led, nil, nil, nil)
		p.Set(Idle)
		go p.Run(t.Context())
		time.Sleep(time.Second)
		p.Set(Error)
		time.Sleep(time.Second)
		synctest.Wait()
		want := []Step{{false, 150 * ms}, {true, 300 * ms}, {false, 450 * ms}}
		if diff := cmp.Diff(want, led.since(time.Second)); diff != "" {
			t.Errorf("after switching idle → error (-want +got):\n%s", diff)
		}
		if p.Pattern() != Error {
			t.Errorf("Pattern() = %s", p.Pattern())
		}
	})
}

type pressRec struct {
	mu      sync.Mutex
	presses []Press
}

func (r *pressRec) add(p Press) { r.mu.Lock(); r.presses = append(r.presses, p); r.mu.Unlock() }
func (r *pressRec) get() []Press {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Press(nil), r.presses...)
}

// TestButton: bouncing contacts make one press; its length decides short
// or long; the LED acknowledges the press at once and the long hold when
// it reaches LongPress.
func TestButton(t *testing.T) {
	// bounce is what a cheap tactile switch does on press or release.
	bounce := func(b *fakeButton, final bool) {
		for range 3 {
			b.levels <- final
			time.Sleep(2 * ms)
			b.levels <- !final
			time.Sleep(3 * ms)
		}
		b.levels <- final
	}
	for _, tt := range []struct {
		name     string
		hold     time.Duration
		wantLong bool
	}{
		{"short", 300 * ms, false},
		{"just under long", LongPress - 100*ms, false},
		{"long", LongPress + 500*ms, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				led := &recLED{start: time.Now()}
				btn := &fakeButton{levels: make(chan bool)}
				rec := &pressRec{}
				p := New(led, btn, nil, rec.add)
				p.Set(Idle)
				go p.Run(t.Context())
				time.Sleep(time.Second)
				bounce(btn, true)
				pressAt := time.Since(led.start)
				time.Sleep(tt.hold)
				bounce(btn, false)
				time.Sleep(3 * time.Second) // AckHold plays out
				synctest.Wait()

				got := rec.get()
				if len(got) != 1 {
					t.Fatalf("presses = %v, want exactly one", got)
				}
				if got[0].Long() != tt.wantLong || got[0].Held < tt.hold || got[0].Held > tt.hold+100*ms {
					t.Errorf("press = %v (long %v), want about %v (long %v)", got[0].Held, got[0].Long(), tt.hold, tt.wantLong)
				}
				// The acknowledgement: idle is steady on, so the first
				// change after the press is the flicker, within the
				// debounce time.
				ch := led.since(pressAt)
				// The first flash began while the LED was already on.
				start := ch[0].For - AckPress[0].For
				if len(ch) < len(AckPress) || ch[0].On || start > Debounce {
					t.Fatalf("LED after the press: %v; want the flicker within %v", ch, Debounce)
				}
				for i := range AckPress[1:] {
					if ch[i].For-start != sum(AckPress[:i+1]) {
						t.Errorf("flicker step %d at %v, want %v", i, ch[i].For-start, sum(AckPress[:i+1]))
					}
				}
				holdAck := false
				for _, c := range ch {
					// AckHold: 2 s on (idle is on already), then dark.
					if !c.On && c.For-start == LongPress+AckHold[0].For {
						holdAck = true
					}
				}
				if holdAck != tt.wantLong {
					t.Errorf("hold acknowledged = %v, want %v; LED: %v", holdAck, tt.wantLong, ch)
				}
			})
		})
	}
}

func sum(s []Step) time.Duration {
	var d time.Duration
	for _, x := range s {
		d += x.For
	}
	return d
}

// TestGlitchIsNoPress: a spike shorter than Debounce is noise.
func TestGlitchIsNoPress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		btn := &fakeButton{levels: make(chan bool)}
		rec := &pressRec{}
		go New(&recLED{start: time.Now()}, btn, nil, rec.add).Run(t.Context())
		btn.levels <- true
		time.Sleep(10 * ms)
		btn.levels <- false
		time.Sleep(time.Second)
		synctest.Wait()
		if got := rec.get(); len(got) != 0 {
			t.Errorf("a 10 ms glitch made presses %v", got)
		}
	})
}

type brokenButton struct{}

func (brokenButton) Wait(context.Context) (bool, error) { return false, errors.New("line gone") }

// TestBrokenButtonKeepsLED: a button that fails leaves the LED working.
func TestBrokenButtonKeepsLED(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		led := &recLED{start: time.Now()}
		p := New(led, brokenButton{}, nil, nil)
		p.Set(Pending)
		go p.Run(t.Context())
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if n := len(led.since(0)); n < 4 {
			t.Errorf("LED changes = %d after the button failed, want the pending blink", n)
		}
	})
}

func TestPatternFor(t *testing.T) {
	for _, tt := range []struct {
		in   Inputs
		want Pattern
	}{
		{Inputs{Booting: true, Fault: "x", Busy: 1}, Booting},
		{Inputs{Fault: "no link", Busy: 2, Pending: 3}, Error},
		{Inputs{Busy: 2, Pending: 3}, Busy},
		{Inputs{Pending: 3}, Pending},
		{Inputs{}, Idle},
	} {
		if got := PatternFor(tt.in); got != tt.want {
			t.Errorf("PatternFor(%+v) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestClaim(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c Claim
		calls := 0
		set := func() error { calls++; return nil }
		if open, _ := c.Use(set); open || calls != 0 {
			t.Fatal("a closed window let a claim through")
		}
		c.Open(ClaimFor)
		time.Sleep(time.Minute)
		if r := c.Remaining(); r != time.Minute {
			t.Errorf("Remaining = %v after 1 of 2 minutes", r)
		}
		bad := errors.New("too short")
		if open, err := c.Use(func() error { return bad }); !open || err != bad || c.Remaining() == 0 {
			t.Errorf("a failed set: open=%v err=%v remaining=%v; want the window still open", open, err, c.Remaining())
		}
		if open, err := c.Use(set); !open || err != nil || calls != 1 {
			t.Fatalf("claim in the window: open=%v err=%v calls=%d", open, err, calls)
		}
		if open, _ := c.Use(set); open || c.Remaining() != 0 {
			t.Error("the window stayed open after a successful claim")
		}
		c.Open(ClaimFor)
		time.Sleep(ClaimFor)
		if open, _ := c.Use(set); open {
			t.Error("the window is open after ClaimFor")
		}
	})
}
