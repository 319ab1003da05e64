package provision

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/appliance/provision/provisiontest"
)

// fakeLinks is a link that can be pulled and plugged back.
type fakeLinks struct {
	mu   sync.Mutex
	up   bool
	wake chan struct{}
}

func (f *fakeLinks) set(up bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.up = up
	close(f.wake)
	f.wake = make(chan struct{})
}

func (f *fakeLinks) WaitUp(ctx context.Context, iface string) error {
	for {
		f.mu.Lock()
		up, wake := f.up, f.wake
		f.mu.Unlock()
		if up {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		}
	}
}

// TestPauseWhileDown: a NOTIFY waits while the phone's LAN has no link
// and goes out when it returns; a link that stays away fails the NOTIFY
// without sending it.
func TestPauseWhileDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &provisiontest.Notifier{}
		links := &fakeLinks{wake: make(chan struct{})}
		p := PauseWhileDown(n, links, 5*time.Minute)
		dlg := appliance.Dialog{RemoteAddr: netip.MustParseAddrPort("198.18.0.50:5060")}

		done := make(chan appliance.NotifyOutcome, 1)
		go func() { done <- p.SendNotify(t.Context(), dlg, 1, "http://198.18.0.1/p/x/") }()
		time.Sleep(time.Minute)
		if n.Count() != 0 {
			t.Fatal("NOTIFY sent while the link is down")
		}
		links.set(true)
		if out := <-done; out.Result != appliance.NotifyOK || n.Count() != 1 {
			t.Fatalf("after the link returned: %+v, %d sent", out, n.Count())
		}

		links.set(false)
		go func() { done <- p.SendNotify(t.Context(), dlg, 2, "http://198.18.0.1/p/x/") }()
		time.Sleep(5*time.Minute + time.Second)
		synctest.Wait()
		select {
		case out := <-done:
			if out.Result != appliance.NotifyError || !strings.Contains(out.Detail, "no link on lan0") || n.Count() != 1 {
				t.Errorf("link down for good: %+v, %d sent", out, n.Count())
			}
		default:
			t.Fatal("NOTIFY still waiting after the pause limit")
		}
	})
}
