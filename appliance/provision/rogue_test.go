package provision

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pnpbox/pnpbox/appliance"
)

// TestRogueWatch: the traces another responder leaves raise one alert
// each (with an event), and the ordinary flow raises none: retries of one
// boot, a SUBSCRIBE crossing the NOTIFY, one boot of a provisioned phone.
func TestRogueWatch(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	f := newFixture(t, func(c *Config) { c.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now } })
	kinds := func() []string {
		var k []string
		for _, a := range f.c.Alerts() {
			k = append(k, a.Kind)
		}
		return k
	}

	// A: NOTIFYed, answered, then a new boot a while later, no download.
	a := mac(t, "000B82000001")
	f.c.discover(disc(a, "198.18.0.100", "a-1"))
	if _, err := f.c.Assign(a, assignment); err != nil {
		t.Fatal(err)
	}
	f.c.ProvisionAll()
	f.c.notifWG.Wait()
	f.c.discover(disc(a, "198.18.0.100", "a-1")) // a retry of the same boot
	f.c.discover(disc(a, "198.18.0.100", "a-2")) // crossing the NOTIFY
	if k := kinds(); len(k) != 0 {
		t.Fatalf("alerts from the ordinary flow: %v", k)
	}
	advance(2 * time.Minute)
	f.c.discover(disc(a, "198.18.0.100", "a-3"))
	f.c.discover(disc(a, "198.18.0.100", "a-4")) // no second alert
	if k := kinds(); len(k) != 1 || k[0] != AlertRogueResponder {
		t.Fatalf("after a boot without a download: alerts %v, want one %s", k, AlertRogueResponder)
	}
	if ev := f.events(t, appliance.EventAlert); len(ev) != 1 || !strings.Contains(ev[0], "without downloading") {
		t.Errorf("events %v", ev)
	}

	// B: provisioned, then SUBSCRIBEs keep coming.
	b := mac(t, "000B82000002")
	f.c.discover(disc(b, "198.18.0.101", "b-1"))
	if _, err := f.c.Assign(b, assignment); err != nil {
		t.Fatal(err)
	}
	f.c.ProvisionAll()
	f.c.notifWG.Wait()
	for _, file := range []string{"cfg000B82000002", "cfg000b82000002.xml"} {
		if err := f.download(t, b, file); err != nil {
			t.Fatal(err)
		}
	}
	if s := f.state(t, b); s != appliance.StateProvisioned {
		t.Fatalf("state %s", s)
	}
	f.c.discover(disc(b, "198.18.0.101", "b-2")) // one boot with PnP on: normal
	if k := kinds(); len(k) != 1 {
		t.Fatalf("one boot of a provisioned phone raised %v", k)
	}
	advance(time.Minute)
	f.c.discover(disc(b, "198.18.0.101", "b-3"))
	advance(time.Minute)
	f.c.discover(disc(b, "198.18.0.101", "b-4"))
	if k := kinds(); len(k) != 2 || k[1] != AlertPnPAgain {
		t.Fatalf("three boots in 10 minutes: alerts %v, want %s", k, AlertPnPAgain)
	}
	f.c.discover(disc(b, "198.18.0.101", "b-5"))
	if k := kinds(); len(k) != 2 {
		t.Fatalf("a fourth boot raised another alert: %v", k)
	}
}

// TestForeignResponderAlert: another host's SIP on the group raises one
// alert and event per source an hour, and at most foreignPerHour in all
// however many sources a spoofer uses.
func TestForeignResponderAlert(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	f := newFixture(t, func(c *Config) { c.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now } })
	count := func() (alerts, events int) {
		for _, a := range f.c.Alerts() {
			if a.Kind == AlertForeignResponder {
				alerts++
			}
		}
		return alerts, len(f.events(t, appliance.EventAlert))
	}
	rogue := netip.MustParseAddrPort("198.18.0.66:5060")
	for range 50 {
		f.c.ForeignResponder(rogue, "response")
	}
	if a, e := count(); a != 1 || e != 1 {
		t.Fatalf("50 reports from one host: %d alerts, %d events, want 1 each", a, e)
	}
	if ev := f.events(t, appliance.EventAlert); !strings.Contains(ev[0], "198.18.0.66:5060") || !strings.Contains(ev[0], "multicast group") {
		t.Errorf("event %q", ev[0])
	}
	advance(59 * time.Minute)
	f.c.ForeignResponder(rogue, "NOTIFY")
	if a, _ := count(); a != 1 {
		t.Fatalf("again within the hour: %d alerts", a)
	}
	advance(2 * time.Minute)
	f.c.ForeignResponder(rogue, "NOTIFY")
	if a, e := count(); a != 2 || e != 2 {
		t.Fatalf("after the hour: %d alerts, %d events, want 2", a, e)
	}
	// A spoofer with many addresses: capped at foreignPerHour an hour.
	for i := range 100 {
		f.c.ForeignResponder(netip.MustParseAddrPort(fmt.Sprintf("198.18.1.%d:5060", i+1)), "NOTIFY")
	}
	if a, e := count(); a != 1+foreignPerHour || e != a {
		t.Fatalf("100 sources: %d alerts, %d events, want %d", a, e, 1+foreignPerHour)
	}
}
