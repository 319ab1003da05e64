package provision

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/pnpbox/pnpbox/appliance"
)

// discAt is a SUBSCRIBE from addr (ip:port).
func discAt(m appliance.MAC, addr, callID string) appliance.Discovery {
	d := disc(m, "198.18.0.1", callID)
	ap := netip.MustParseAddrPort(addr)
	d.Contact, d.Source, d.Dialog.RemoteAddr = ap, ap, ap
	d.Dialog.RemoteTarget = "sip:" + ap.String()
	return d
}

// The input: A announces itself from 198.18.5.3:5063, then B from
// the same address and port. A is assigned and a press follows: no NOTIFY
// may go to that address for A, and the reason says why.
func TestNewMACAtAddressDisplacesOldPhone(t *testing.T) {
	f := newFixture(t)
	a, b := mac(t, "000B82F30001"), mac(t, "000B82F30002")
	f.c.discover(discAt(a, "198.18.5.3:5063", "a-1"))
	f.c.discover(discAt(b, "198.18.5.3:5063", "b-1"))
	if _, err := f.c.Assign(a, assignment); err != nil {
		t.Fatal(err)
	}
	sum, _ := f.c.ProvisionAll()
	f.c.notifWG.Wait()
	if len(sum.Sent) != 0 || f.n.Count() != 0 {
		t.Fatalf("NOTIFY sent for A at B's address: summary %+v, %d NOTIFYs", sum, f.n.Count())
	}
	if len(sum.Skipped) != 1 || !strings.Contains(sum.Skipped[0].Reason, "000B82F30002 announced itself from 198.18.5.3") {
		t.Errorf("skipped %+v, want A with the reason naming B and the address", sum.Skipped)
	}
	if err := f.c.Provision(a); !errors.Is(err, ErrDisplaced) {
		t.Errorf("Provision(A) = %v, want ErrDisplaced", err)
	}
	if got := f.events(t, appliance.EventIdentity); len(got) != 1 || !strings.Contains(got[0], "000B82F30001 address 198.18.5.3 taken by 000B82F30002") {
		t.Errorf("identity events %q", got)
	}
	e, _ := f.c.Phone(a)
	if e.Phone.IP.IsValid() || e.Phone.Dialog != nil {
		t.Errorf("A keeps address %s / dialog %v", e.Phone.IP, e.Phone.Dialog)
	}

	// A announces itself again (from elsewhere): it is A's address now,
	// and the press reaches it there.
	f.c.discover(discAt(a, "198.18.5.9:5060", "a-2"))
	sum, _ = f.c.ProvisionAll()
	f.c.notifWG.Wait()
	if len(sum.Sent) != 1 || f.n.Calls()[0].Dialog.RemoteAddr.String() != "198.18.5.9:5060" {
		t.Fatalf("after A re-announced: summary %+v, calls %+v", sum, f.n.Calls())
	}
}

// The kind: whichever phone, port or order, two phones never share an
// address in the box's records, and only the newest holder keeps it, also
// across a restart (restart: the coordinator reloads what it stored).
func TestDisplacementKinds(t *testing.T) {
	var restart appliance.Discovery
	a, b, c := appliance.MAC{0, 0x0b, 0x82, 0, 0, 1}, appliance.MAC{0, 0x0b, 0x82, 0, 0, 2}, appliance.MAC{0, 0x0b, 0x82, 0, 0, 3}
	for _, tc := range []struct {
		name      string
		seq       []appliance.Discovery
		displaced []appliance.MAC
	}{
		{"same address and port", []appliance.Discovery{discAt(a, "198.18.5.3:5063", "1"), discAt(b, "198.18.5.3:5063", "2")}, []appliance.MAC{a}},
		{"same address, other port", []appliance.Discovery{discAt(a, "198.18.5.3:5063", "1"), discAt(b, "198.18.5.3:5060", "2")}, []appliance.MAC{a}},
		{"other address", []appliance.Discovery{discAt(a, "198.18.5.3:5060", "1"), discAt(b, "198.18.5.4:5060", "2")}, nil},
		{"retries of one phone", []appliance.Discovery{discAt(a, "198.18.5.3:5060", "1"), discAt(a, "198.18.5.3:5060", "1"), discAt(a, "198.18.5.3:5062", "2")}, nil},
		{"swap back", []appliance.Discovery{discAt(a, "198.18.5.3:5060", "1"), discAt(b, "198.18.5.3:5060", "2"), discAt(a, "198.18.5.3:5060", "3")}, []appliance.MAC{b}},
		{"one address, three phones", []appliance.Discovery{discAt(a, "198.18.5.3:5060", "1"), discAt(b, "198.18.5.3:5060", "2"), discAt(c, "198.18.5.3:5060", "3")}, []appliance.MAC{a, b}},
		{"moved away, then another comes", []appliance.Discovery{discAt(a, "198.18.5.3:5060", "1"), discAt(a, "198.18.5.7:5060", "2"), discAt(b, "198.18.5.3:5060", "3")}, nil},
		{"a restart between", []appliance.Discovery{discAt(a, "198.18.5.3:5060", "1"), restart, discAt(b, "198.18.5.3:5060", "2")}, []appliance.MAC{a}},
		{"three across restarts", []appliance.Discovery{discAt(a, "198.18.5.3:5060", "1"), restart, discAt(b, "198.18.5.3:5060", "2"), restart, discAt(c, "198.18.5.3:5060", "3"), discAt(a, "198.18.5.3:5060", "4")}, []appliance.MAC{b, c}},
		{"moved away before a restart", []appliance.Discovery{discAt(a, "198.18.5.3:5060", "1"), discAt(a, "198.18.5.7:5060", "2"), restart, discAt(b, "198.18.5.3:5060", "3"), discAt(c, "198.18.5.7:5060", "4")}, []appliance.MAC{a}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			for _, d := range tc.seq {
				if d.MAC.IsZero() { // restart: the records read back from the store
					if err := f.c.flush(true); err != nil {
						t.Fatal(err)
					}
					snap, err := f.store.Load()
					if err != nil {
						t.Fatal(err)
					}
					f.c.mu.Lock()
					f.c.loadLocked(snap)
					f.c.mu.Unlock()
					continue
				}
				f.c.discover(d)
			}
			want := map[appliance.MAC]bool{}
			for _, m := range tc.displaced {
				want[m] = true
			}
			byAddr := map[netip.Addr]appliance.MAC{}
			for _, e := range f.c.Phones() {
				p := e.Phone
				if got := p.Displaced != nil; got != want[p.MAC] {
					t.Errorf("%s displaced = %v, want %v", p.MAC, got, want[p.MAC])
				}
				if !p.IP.IsValid() {
					continue
				}
				if other, dup := byAddr[p.IP]; dup {
					t.Errorf("%s and %s both recorded at %s", other, p.MAC, p.IP)
				}
				byAddr[p.IP] = p.MAC
			}
		})
	}
}

// The input: B (000b82f30002) downloads with A's token. It is not
// booked for A, it is refused, and the mismatch is an event.
func TestDownloadUserAgentNamesAnotherPhone(t *testing.T) {
	a := mac(t, "000B82F30001")
	for _, tc := range []struct {
		ua     string
		served bool
	}{
		{"Grandstream Model HW GXP2140 SW 1.0.11.3 DevId 000b82f30002", false},
		{"Grandstream Model HW GXP2140 SW 1.0.11.3 DevId 000b82f30001", true},
		{"Grandstream Model HW GXP2140 SW 1.0.11.3 DevId 000B82F30001", true},
		{"Grandstream GXP2140 1.0.7.25", true}, // no MAC: older firmware
		{"curl/8.5.0", true},                   // manual provisioning
		{"", true},
	} {
		t.Run(tc.ua, func(t *testing.T) {
			f := newFixture(t)
			f.c.discover(discAt(a, "198.18.0.3:5063", "a-1"))
			if _, err := f.c.Assign(a, assignment); err != nil {
				t.Fatal(err)
			}
			f.c.ProvisionAll()
			f.c.notifWG.Wait()
			e, _ := f.c.Phone(a)
			_, err := f.c.Download(DownloadRequest{Token: e.Phone.Token, File: "cfg000B82F30001", Remote: netip.MustParseAddr("198.18.0.3"),
				UserAgent: tc.ua, Local: netip.MustParseAddrPort("198.18.0.1:8080")})
			e, _ = f.c.Phone(a)
			if tc.served {
				if err != nil || e.Phone.State != appliance.StateDownloaded || e.Phone.Downloads != 1 {
					t.Errorf("served: err %v, state %s, downloads %d", err, e.Phone.State, e.Phone.Downloads)
				}
				if ev := f.events(t, appliance.EventIdentity); len(ev) != 0 {
					t.Errorf("identity events %q for a matching download", ev)
				}
				return
			}
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("download with another phone's User-Agent: err %v, want ErrNotFound", err)
			}
			if e.Phone.State != appliance.StateNotified || e.Phone.Downloads != 0 || e.Phone.LastDownload != nil {
				t.Errorf("booked for A: state %s, downloads %d", e.Phone.State, e.Phone.Downloads)
			}
			if ev := f.events(t, appliance.EventIdentity); len(ev) != 1 || !strings.Contains(ev[0], "User-Agent naming 000B82F30002") {
				t.Errorf("identity events %q", ev)
			}
		})
	}
}
