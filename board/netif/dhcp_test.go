package netif

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeNet is a scripted DHCP server and the interface's address list: it
// records what the client asks and installs, with the (bubble) time since
// the start.
type fakeNet struct {
	start time.Time
	mu    sync.Mutex
	log   []string
	// The server's behaviour; nil answers "no response".
	acquire func(hint netip.Addr) (*Lease, error)
	renew   func(l *Lease) (*Lease, error)
	rebind  func(l *Lease) (*Lease, error)
}

var errNoAnswer = errors.New("no answer")

func (f *fakeNet) note(format string, a ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, fmt.Sprintf("%v ", time.Since(f.start))+fmt.Sprintf(format, a...))
}

func (f *fakeNet) events() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.log...)
}

func (f *fakeNet) Acquire(ctx context.Context, hint netip.Addr) (*Lease, error) {
	f.note("discover hint=%v", hint)
	f.mu.Lock()
	fn := f.acquire
	f.mu.Unlock()
	return f.answer(ctx, func() (*Lease, error) {
		if fn == nil {
			return nil, errNoAnswer
		}
		return fn(hint)
	})
}

func (f *fakeNet) Renew(ctx context.Context, l *Lease) (*Lease, error) {
	f.note("renew")
	return f.answer(ctx, func() (*Lease, error) {
		if f.renew == nil {
			return nil, errNoAnswer
		}
		return f.renew(l)
	})
}

func (f *fakeNet) Rebind(ctx context.Context, l *Lease) (*Lease, error) {
	f.note("rebind")
	return f.answer(ctx, func() (*Lease, error) {
		if f.rebind == nil {
			return nil, errNoAnswer
		}
		return f.rebind(l)
	})
}

// answer takes a second, like a server on a LAN (a lost one: 3 s).
func (f *fakeNet) answer(ctx context.Context, fn func() (*Lease, error)) (*Lease, error) {
	l, err := fn()
	d := time.Second
	if err == errNoAnswer {
		d = 3 * time.Second
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(d):
	}
	if l != nil {
		l.Acquired = time.Now() // when the ACK arrived
	}
	return l, err
}

func (f *fakeNet) install(p netip.Prefix, valid time.Duration, router netip.Addr) error {
	f.note("install %s valid=%v", p, valid)
	return nil
}

func (f *fakeNet) remove(p netip.Prefix) error {
	f.note("remove %s", p)
	return nil
}

func lease(addr string, lt time.Duration) *Lease {
	l := &Lease{Addr: netip.MustParsePrefix(addr), Server: netip.MustParseAddr("198.18.0.1"), Acquired: time.Now()}
	l.Time, l.T1, l.T2 = leaseTimes(lt, 0, 0)
	return l
}

func startClient(t *testing.T, f *fakeNet, fallback string) *dhcpClient {
	c := newDHCPClient("lan0", f, f, slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})))
	c.timeout = 10 * time.Second
	if fallback != "" {
		c.fallback = func(context.Context) (netip.Prefix, error) { return netip.MustParsePrefix(fallback), nil }
	}
	c.setCarrier(true)
	go c.run(t.Context())
	return c
}

func check(t *testing.T, f *fakeNet, want []string) {
	t.Helper()
	if diff := cmp.Diff(want, f.events()); diff != "" {
		t.Errorf("DHCP exchange (-want +got):\n%s", diff)
	}
}

// TestDHCPRenewRebindExpire: an unanswered renewal at T1 is retried at
// half the time left, then rebinding from T2 until the lease runs out,
// when the address goes and DISCOVER starts again.
func TestDHCPRenewRebindExpire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeNet{start: time.Now()}
		f.acquire = func(netip.Addr) (*Lease, error) { return lease("198.18.0.10/24", 400*time.Second), nil }
		startClient(t, f, "")
		time.Sleep(350 * time.Second)
		f.mu.Lock()
		f.acquire = nil
		f.mu.Unlock()
		time.Sleep(60*time.Second + time.Millisecond)
		synctest.Wait()
		check(t, f, []string{
			"0s discover hint=invalid IP",
			"1s install 198.18.0.10/24 valid=6m40s",
			"3m21s renew",                 // T1 = 200 s after the ACK at 1 s
			"4m37.5s renew",               // unanswered at 204 s: 147 s to T2, wait half (73.5 s)
			"5m40.5s renew",               // 70.5 s left: half is under 60 s, so 60 s
			"5m51s rebind",                // 7.5 s left: wait it out; T2 = 351 s
			"6m41s remove 198.18.0.10/24", // 47 s to expiry: no time for another; gone at 401 s
			"6m41s discover hint=invalid IP",
			"6m45s discover hint=invalid IP", // 3 s unanswered, 1 s pause
			"6m50s discover hint=invalid IP", // then 2 s
		})
	})
}

// TestDHCPNakRestarts: a NAK to a renewal drops the address at once and
// starts over; a renewal's ACK only extends it.
func TestDHCPNakRestarts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeNet{start: time.Now()}
		n := 0
		f.acquire = func(netip.Addr) (*Lease, error) {
			n++
			return lease(fmt.Sprintf("198.18.0.%d/24", 10+n), 100*time.Second), nil
		}
		renews := 0
		f.renew = func(l *Lease) (*Lease, error) {
			renews++
			if renews == 1 {
				return lease(l.Addr.String(), 100*time.Second), nil
			}
			return nil, ErrNAK
		}
		startClient(t, f, "")
		time.Sleep(110 * time.Second)
		synctest.Wait()
		check(t, f, []string{
			"0s discover hint=invalid IP",
			"1s install 198.18.0.11/24 valid=1m40s",
			"51s renew",
			"52s install 198.18.0.11/24 valid=1m40s",
			"1m42s renew",
			"1m43s remove 198.18.0.11/24",
			"1m43s discover hint=invalid IP",
			"1m44s install 198.18.0.12/24 valid=1m40s",
		})
	})
}

// TestDHCPFallback: without a server the fallback address comes after
// the timeout; a lease, once a server answers, replaces it.
func TestDHCPFallback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeNet{start: time.Now()}
		var acquiring []bool
		c := newDHCPClient("lan0", f, f, slog.New(slog.DiscardHandler))
		c.timeout = 10 * time.Second
		c.fallback = func(context.Context) (netip.Prefix, error) { return netip.MustParsePrefix("169.254.7.7/16"), nil }
		c.onAcquiring = func(on bool) { f.mu.Lock(); acquiring = append(acquiring, on); f.mu.Unlock() }
		c.setCarrier(true)
		go c.run(t.Context())
		time.Sleep(20 * time.Second)
		f.mu.Lock()
		f.acquire = func(netip.Addr) (*Lease, error) { return lease("198.18.0.10/24", time.Hour), nil }
		f.mu.Unlock()
		time.Sleep(30 * time.Second)
		synctest.Wait()
		ev := f.events()
		if len(ev) < 4 || ev[len(ev)-2] == "" {
			t.Fatalf("events: %v", ev)
		}
		var got []string
		for _, e := range ev {
			if !strings.Contains(e, "discover") {
				got = append(got, e)
			}
		}
		if diff := cmp.Diff([]string{
			"10s install 169.254.7.7/16 valid=0s",
			"28s install 198.18.0.10/24 valid=1h0m0s", // discovers at 0, 4, 9, 16, 27 s (pauses 1, 2, 4, 8 s)
			"28s remove 169.254.7.7/16",
		}, got); diff != "" {
			t.Errorf("installs (-want +got):\n%s\nall: %v", diff, ev)
		}
		if diff := cmp.Diff([]bool{true, false, false}, acquiring); diff != "" {
			t.Errorf("acquiring (-want +got):\n%s", diff)
		}
	})
}

// TestDHCPLinkFlap: a link that goes and comes back asks for the same
// address again (INIT-REBOOT), keeping it meanwhile.
func TestDHCPLinkFlap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeNet{start: time.Now()}
		f.acquire = func(hint netip.Addr) (*Lease, error) { return lease("198.18.0.10/24", time.Hour), nil }
		c := startClient(t, f, "")
		time.Sleep(10 * time.Second)
		c.setCarrier(false)
		time.Sleep(5 * time.Second)
		c.setCarrier(true)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		check(t, f, []string{
			"0s discover hint=invalid IP",
			"1s install 198.18.0.10/24 valid=1h0m0s",
			"15s discover hint=198.18.0.10",
			"16s install 198.18.0.10/24 valid=1h0m0s",
		})
	})
}
