//go:build linux

package netif

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

// TestWatchResubscribes: when netlink closes a subscription's channel (as
// it does on any receive error, ENOBUFS after a burst say), the watcher
// subscribes again and keeps publishing. The fake subscription fails the
// first two times; the interface is the test's own loopback, read-only.
func TestWatchResubscribes(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	published := make(chan []State, 16)
	m, err := New(Config{Iface: "lo", Mode: ModeNone, OnChange: func(s []State) {
		select {
		case published <- s:
		default:
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	m.subscribe = func(links chan netlink.LinkUpdate, addrs chan netlink.AddrUpdate, done chan struct{}) error {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if n <= 2 {
			links <- netlink.LinkUpdate{} // an event, then the receive error
			close(links)
		}
		return nil
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	select {
	case s := <-published:
		if len(s) != 1 || s[0].Name != "lo" || s[0].Index == 0 || !s[0].Loopback {
			t.Errorf("published %+v", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no state published")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := calls
		mu.Unlock()
		if n >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("subscribed %d times, want a third after two closed channels", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
}
