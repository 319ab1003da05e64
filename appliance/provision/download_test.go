package provision

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/appliance/store"
)

// get downloads file for m from local and fails the test on an error.
func (f *fixture) get(t *testing.T, m appliance.MAC, file, local string) File {
	t.Helper()
	e, err := f.c.Phone(m)
	if err != nil {
		t.Fatal(err)
	}
	out, err := f.c.Download(DownloadRequest{Token: e.Phone.Token, File: file, Remote: e.Phone.IP,
		UserAgent: "Grandstream GXP2140 1.0.11.3", Local: netip.MustParseAddrPort(local)})
	if err != nil {
		t.Fatalf("download %s: %v", file, err)
	}
	return out
}

// sameBytes reports whether a and b are the same rendering (one backing
// array), not merely equal bytes.
func sameBytes(a, b []byte) bool {
	return len(a) > 0 && len(b) > 0 && &a[0] == &b[0]
}

// TestDownloadServesCachedConfig: a phone's config is rendered once and
// served from memory, and any change of what goes into it (assignment,
// settings, model, firmware, box address) renders it again, with the
// change in the bytes where the change shows.
func TestDownloadServesCachedConfig(t *testing.T) {
	const box = "198.18.0.1:80"
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, f *fixture, m appliance.MAC)
		local  string // the box address of the download after the change
		shows  string // what the new config holds, "" when not visible
	}{
		{name: "assignment", shows: "Front desk", change: func(t *testing.T, f *fixture, m appliance.MAC) {
			a := assignment
			a.DisplayName = "Front desk"
			if _, err := f.c.Assign(m, a); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "settings", shows: "pool.ntp.example", change: func(t *testing.T, f *fixture, m appliance.MAC) {
			f.settings(t, `{"ntp_server":"pool.ntp.example"}`)
		}},
		{name: "site admin password", shows: "", change: func(t *testing.T, f *fixture, m appliance.MAC) {
			f.settings(t, `{"phone_admin_password":"Site-admin-pw-1"}`)
		}},
		{name: "model", shows: "", change: func(t *testing.T, f *fixture, m appliance.MAC) {
			d := disc(m, "198.18.0.100", "c2")
			d.Model = "GXP2160"
			f.c.discover(d)
		}},
		{name: "firmware", change: func(t *testing.T, f *fixture, m appliance.MAC) {
			d := disc(m, "198.18.0.100", "c2")
			d.Firmware = "1.0.11.79"
			f.c.discover(d)
		}},
		{name: "box address", local: "198.18.0.2:80", shows: "198.18.0.2:80/p/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			m := mac(t, "000B82000001")
			f.c.discover(disc(m, "198.18.0.100", "c1"))
			if _, err := f.c.Assign(m, assignment); err != nil {
				t.Fatal(err)
			}
			first := f.get(t, m, "cfg000b82000001.xml", box)
			again := f.get(t, m, "cfg000b82000001.xml", box)
			if !sameBytes(first.Body, again.Body) || first.ETag != again.ETag || first.ETag == "" {
				t.Fatalf("second download rendered again (ETags %s, %s): nothing changed", first.ETag, again.ETag)
			}
			if tc.change != nil {
				tc.change(t, f, m)
			}
			local := box
			if tc.local != "" {
				local = tc.local
			}
			after := f.get(t, m, "cfg000b82000001.xml", local)
			if sameBytes(first.Body, after.Body) {
				t.Fatalf("after the %s changed, the old rendering was served", tc.name)
			}
			if tc.shows != "" && (!strings.Contains(string(after.Body), tc.shows) || strings.Contains(string(first.Body), tc.shows)) {
				t.Errorf("after the %s changed, the config does not show it (%q)", tc.name, tc.shows)
			}
			if (after.ETag == first.ETag) != (string(after.Body) == string(first.Body)) {
				t.Errorf("ETag %s → %s while the bytes changed: %v", first.ETag, after.ETag, string(after.Body) != string(first.Body))
			}
		})
	}
}

// TestDownloadNotModified: If-None-Match with the config's ETag is answered
// without a body and still counts as the phone's download; a stale tag
// gets the bytes.
func TestDownloadNotModified(t *testing.T) {
	f := newFixture(t)
	m := f.notified(t, "000B82000001")
	full := f.get(t, m, "cfg000b82000001", "198.18.0.1:80")
	if full.NotModified || len(full.Body) == 0 || !strings.HasPrefix(full.ETag, `"`) {
		t.Fatalf("plain GET: %+v", full)
	}
	e, _ := f.c.Phone(m)
	req := DownloadRequest{Token: e.Phone.Token, File: "cfg000b82000001.xml", Remote: e.Phone.IP,
		Local: netip.MustParseAddrPort("198.18.0.1:80")}
	for _, tc := range []struct {
		header string
		want   bool
	}{
		{`"0123456789abcdef0123456789abcdef"`, false},
		{full.ETag, true},
		{`"x", W/` + full.ETag, true},
		{"*", true},
	} {
		req.IfNoneMatch = tc.header
		out, err := f.c.Download(req)
		if err != nil {
			t.Fatal(err)
		}
		if out.NotModified != tc.want || (out.Body == nil) != tc.want || out.ETag != full.ETag {
			t.Errorf("If-None-Match %s: not modified %v, %d bytes, ETag %s; want not modified %v, ETag %s",
				tc.header, out.NotModified, len(out.Body), out.ETag, tc.want, full.ETag)
		}
	}
	e, _ = f.c.Phone(m)
	if e.Phone.Downloads != 5 || e.Phone.State != appliance.StateProvisioned {
		t.Errorf("after 5 downloads (3 not modified): %d downloads, state %s", e.Phone.Downloads, e.Phone.State)
	}
	evs, err := f.c.Events(store.EventFilter{MAC: &m})
	if err != nil {
		t.Fatal(err)
	}
	var notMod int
	for _, ev := range evs {
		if ev.Kind == appliance.EventDownload && strings.HasSuffix(ev.Detail, ", not modified") {
			notMod += max(ev.Count, 1)
		}
	}
	if notMod != 3 {
		t.Errorf("%d download events say not modified, want 3", notMod)
	}
}

// TestEveryDownloadRecorded: downloads from many goroutines while flushes
// run are each counted on the phone and each written into an event (one
// event per repeat between flushes, its count saying how many).
func TestEveryDownloadRecorded(t *testing.T) {
	f := newFixture(t)
	const phones, each = 8, 50
	var reqs []DownloadRequest
	for i := range phones {
		m := appliance.MAC{0x00, 0x0b, 0x82, 0, 0, byte(i + 1)}
		f.c.discover(disc(m, fmt.Sprintf("198.18.0.%d", 100+i), fmt.Sprintf("c%d", i)))
		if _, err := f.c.Assign(m, appliance.Assignment{Extension: fmt.Sprint(201 + i), Password: "pw-secret-1"}); err != nil {
			t.Fatal(err)
		}
		e, _ := f.c.Phone(m)
		reqs = append(reqs, DownloadRequest{Token: e.Phone.Token, File: "cfg.xml", Remote: e.Phone.IP, UserAgent: "Grandstream GXP2140",
			Local: netip.MustParseAddrPort("198.18.0.1:80")})
	}
	done := make(chan error)
	for _, r := range reqs {
		go func() {
			for range each {
				if _, err := f.c.Download(r); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	go func() { // the Run loop's flushes, racing the downloads
		for range 20 {
			f.c.flush(false)
		}
		done <- nil
	}()
	for range phones + 1 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if err := f.c.flush(true); err != nil {
		t.Fatal(err)
	}
	evs, err := f.store.Events(store.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	perPhone := map[appliance.MAC]int{}
	for _, ev := range evs {
		if ev.Kind == appliance.EventDownload {
			perPhone[ev.MAC] += max(ev.Count, 1)
		}
	}
	c, err := f.store.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range c.Phones {
		if perPhone[p.MAC] != each || p.Downloads != each {
			t.Errorf("%s: %d download events, %d downloads stored; want %d", p.MAC, perPhone[p.MAC], p.Downloads, each)
		}
	}
}

// TestRepeatedDownloadsCounted: the same download repeated before a flush
// is one event counted up; anything that tells it apart (another file,
// address or User-Agent, a 304, another event of the phone in between, a
// flush) starts a new event, so the log keeps its order and says the same.
func TestRepeatedDownloadsCounted(t *testing.T) {
	f := newFixture(t)
	m := appliance.MAC{0x00, 0x0b, 0x82, 0, 0, 1}
	f.c.discover(disc(m, "198.18.0.100", "c1"))
	if _, err := f.c.Assign(m, appliance.Assignment{Extension: "201", Password: "pw-secret-1"}); err != nil {
		t.Fatal(err)
	}
	if err := f.c.flush(true); err != nil {
		t.Fatal(err)
	}
	e, _ := f.c.Phone(m)
	base := DownloadRequest{Token: e.Phone.Token, File: "cfg.xml", Remote: e.Phone.IP, UserAgent: "Grandstream GXP2140",
		Local: netip.MustParseAddrPort("198.18.0.1:80")}
	get := func(n int, edit func(*DownloadRequest)) {
		t.Helper()
		r := base
		if edit != nil {
			edit(&r)
		}
		for range n {
			if _, err := f.c.Download(r); err != nil {
				t.Fatal(err)
			}
		}
	}
	get(1000, nil)
	get(2, func(r *DownloadRequest) { r.UserAgent = "Grandstream GXP2140 1.0.11.23" })
	get(1, func(r *DownloadRequest) { r.File = "cfg" + m.Lower() + ".xml" })
	get(3, func(r *DownloadRequest) { r.IfNoneMatch = "*" })
	get(1, nil)
	f.c.mu.Lock()
	f.c.eventLocked(m, appliance.EventNotify, "between")
	f.c.mu.Unlock()
	get(1, nil)
	if err := f.c.flush(false); err != nil {
		t.Fatal(err)
	}
	get(4, nil)
	evs, err := f.c.Events(store.EventFilter{MAC: &m})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	total := 0
	for _, ev := range evs {
		if ev.Kind != appliance.EventDownload && ev.Kind != appliance.EventNotify {
			continue
		}
		got = append(got, fmt.Sprintf("%s %d", ev.Kind, ev.Count))
		if ev.Kind == appliance.EventDownload {
			total += max(ev.Count, 1)
		}
	}
	// The first download moves the phone to downloaded: that state event
	// stands between it and the 999 after it.
	want := []string{"download 0", "download 999", "download 2", "download 0", "download 3", "download 0", "notify 0", "download 0", "download 4"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if e, _ := f.c.Phone(m); total != 1012 || e.Phone.Downloads != 1012 {
		t.Errorf("%d downloads in events, %d on the phone; want 1012", total, e.Phone.Downloads)
	}
}
