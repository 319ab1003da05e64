package provision

import (
	"bytes"
	"fmt"
	"net/netip"
	"testing"

	"github.com/pnpbox/pnpbox/appliance"
)

// BenchmarkDiscoverKnown is a retrying or rebooting phone that the box
// already knows: in memory only, no write.
func BenchmarkDiscoverKnown(b *testing.B) {
	f := newFixture(b)
	m := appliance.MAC{0x00, 0x0b, 0x82, 0, 0, 1}
	d := disc(m, "198.18.0.100", "call-1")
	f.c.discover(d)
	b.ReportAllocs()
	for b.Loop() {
		f.c.discover(d)
	}
}

// BenchmarkDiscoverNew10k is a phone the box has not seen, from an
// address no phone holds, on a box that knows 10,000 phones at other
// addresses: a boot storm in a pre-staged building. The address check
// must not cost a pass over the 10,000.
func BenchmarkDiscoverNew10k(b *testing.B) {
	f := newFixture(b)
	base := netip.MustParseAddr("198.18.0.0").As4()
	at := func(i int) string {
		a := base
		a[1] += byte(i >> 16)
		a[2], a[3] = byte(i>>8), byte(i)
		return netip.AddrFrom4(a).String()
	}
	for i := range 10000 {
		f.c.discover(disc(appliance.MAC{0x00, 0x0b, 0x82, 0, byte(i >> 8), byte(i)}, at(i+1), "c"))
	}
	f.c.flush(true)
	b.ReportAllocs()
	i := 10000
	for b.Loop() {
		i++
		f.c.discover(disc(appliance.MAC{0x00, 0x0b, 0x82, byte(i >> 16), byte(i >> 8), byte(i)}, at(i+1), "c"))
	}
}

// BenchmarkDownload serves and records one config download: cached (the
// config unchanged since the last download: every download of a boot
// storm but the first per phone), uncached (an input changed, so it
// renders again), and not-modified (a conditional GET naming the ETag).
func BenchmarkDownload(b *testing.B) {
	f := newFixture(b)
	m := appliance.MAC{0x00, 0x0b, 0x82, 0, 0, 1}
	f.c.discover(disc(m, "198.18.0.100", "call-1"))
	if _, err := f.c.Assign(m, appliance.Assignment{Extension: "201", Password: "pw-201-secret", DisplayName: "Desk",
		Codecs: []string{"G722", "PCMU"}, Keys: []appliance.Key{{Type: "blf", Value: "202", Label: "Bob"}}}); err != nil {
		b.Fatal(err)
	}
	e, _ := f.c.Phone(m)
	req := DownloadRequest{Token: e.Phone.Token, File: fmt.Sprintf("cfg%s.xml", m.Lower()), Remote: e.Phone.IP,
		UserAgent: "Grandstream GXP2140 1.0.11.3", Local: netip.MustParseAddrPort("198.18.0.1:80")}
	first, err := f.c.Download(req)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name  string
		stale bool
		inm   string
	}{{"cached", false, ""}, {"uncached", true, ""}, {"not-modified", false, first.ETag}} {
		b.Run(bc.name, func(b *testing.B) {
			req := req
			req.IfNoneMatch = bc.inm
			b.ReportAllocs()
			for b.Loop() {
				if bc.stale {
					f.c.mu.Lock()
					f.c.gen++ // as an assignment or settings change does
					f.c.mu.Unlock()
				}
				if _, err := f.c.Download(req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// discoverThousand has 1,000 GXP2140s announce themselves from distinct
// addresses and returns the CSV that assigns those phone i for which
// assign(i) holds.
func (f *fixture) discoverThousand(assign func(i int) bool) *bytes.Buffer {
	var csv bytes.Buffer
	csv.WriteString(header)
	for i := range 1000 {
		m := appliance.MAC{0x00, 0x0b, 0x82, 0, byte(i >> 8), byte(i)}
		f.c.discover(disc(m, fmt.Sprintf("198.18.%d.%d", 1+i/250, 1+i%250), fmt.Sprintf("call-%d", i)))
		if assign(i) {
			fmt.Fprintf(&csv, "%s,%d,pw-%d-secret,Phone %d,,,,,GXP2140\n", m, 1000+i, i, i)
		}
	}
	return &csv
}

// BenchmarkStatus is the LED loop's call (4×/s) on a box with 1,000
// phones: 500 assigned, 500 discovered waiting for a pool extension.
func BenchmarkStatus(b *testing.B) {
	f := newFixture(b)
	csv := f.discoverThousand(func(i int) bool { return i%2 == 0 })
	if _, err := f.c.ImportCSV(csv, false); err != nil {
		b.Fatal(err)
	}
	f.c.UpdateSettings(jsonEdit(`{"extension_pool":"5000-5999"}`))
	b.ReportAllocs()
	for b.Loop() {
		if st := f.c.Status(); st.Total != 1000 {
			b.Fatalf("total %d", st.Total)
		}
	}
}

// BenchmarkProvisionAll1000 is one press of the button with 1,000 pending
// phones (seen, assigned by CSV, their last NOTIFY refused so each press
// finds them pending again): the time the press holds the coordinator's
// lock. "again" is a press after one before it (each phone's render check
// is answered from its last); "first" is the first press after the
// assignments were imported (every phone's config is checked once). The
// NOTIFYs' own ends are waited for outside the timer.
func BenchmarkProvisionAll1000(b *testing.B) {
	f := newFixture(b)
	csv := f.discoverThousand(func(int) bool { return true })
	if _, err := f.c.ImportCSV(csv, false); err != nil {
		b.Fatal(err)
	}
	f.n.SetResult(appliance.NotifyRefused)
	for _, bc := range []struct {
		name  string
		first bool
	}{{"again", false}, {"first", true}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if bc.first {
					b.StopTimer()
					f.c.mu.Lock()
					f.c.checks = nil // as a CSV import leaves them
					f.c.mu.Unlock()
					b.StartTimer()
				}
				sum, err := f.c.ProvisionAll()
				if err != nil || len(sum.Sent) != 1000 {
					b.Fatalf("press: sent %d, skipped %v, %v", len(sum.Sent), sum.Skipped, err)
				}
				b.StopTimer()
				f.c.notifWG.Wait()
				b.StartTimer()
			}
		})
	}
}
