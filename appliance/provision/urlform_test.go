package provision

import (
	"strings"
	"testing"

	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/appliance/profile"
)

// notifyURL assigns phone m (announcing itself as model), sets the site's
// and the phone's URL form, presses, and returns the NOTIFY's URL.
func notifyURL(t *testing.T, model, site, phone string) string {
	t.Helper()
	f := newFixture(t)
	if site != "" {
		f.settings(t, `{"notify_url_form":"`+site+`"}`)
	}
	m := mac(t, "000B82000001")
	d := disc(m, "198.18.0.100", "c1")
	d.Model = model
	f.c.discover(d)
	a := assignment
	a.NotifyURLForm = phone
	if _, err := f.c.Assign(m, a); err != nil {
		t.Fatal(err)
	}
	f.c.ProvisionAll()
	f.c.notifWG.Wait()
	if f.n.Count() != 1 {
		t.Fatalf("%d NOTIFYs", f.n.Count())
	}
	return f.n.Calls()[0].URL
}

func formOf(url string) string {
	if strings.HasSuffix(url, "/") {
		return appliance.URLFormFolder
	}
	if strings.HasSuffix(url, "/cfg000B82000001") {
		return appliance.URLFormFile
	}
	return "?" + url
}

// The input: a GXP21xx gets the vendor guide's file form, a
// GRP26xx (GRP2612W, as gs_tools' responder saw it) the folder form,
// each overridable per site and per phone.
func TestNotifyURLFormPerFamily(t *testing.T) {
	for _, tc := range []struct {
		model, site, phone, want string
	}{
		{"GXP2140", "", "", "file"},
		{"GRP2612W", "", "", "folder"},
		{"GXP2140", "auto", "", "file"},
		{"GRP2612W", "auto", "auto", "folder"},
		{"GXP9999", "", "", "file"}, // not in the table: the vendor guide's form
		{"GXP2140", "folder", "", "folder"},
		{"GRP2612W", "file", "", "file"},
		{"GXP2140", "", "folder", "folder"},
		{"GRP2612W", "", "file", "file"},
		{"GXP2140", "file", "folder", "folder"},
		{"GRP2612W", "folder", "file", "file"},
		{"GRP2612W", "file", "auto", "file"},
	} {
		t.Run(tc.model+"/"+tc.site+"/"+tc.phone, func(t *testing.T) {
			if got := formOf(notifyURL(t, tc.model, tc.site, tc.phone)); got != tc.want {
				t.Errorf("form %s, want %s", got, tc.want)
			}
		})
	}
}

// The kind: every model row's phones are sent their family's form when
// nothing overrides it.
func TestNotifyURLFormEveryModel(t *testing.T) {
	for _, m := range profile.Models() {
		want := appliance.URLFormFile
		if m.Family == profile.GRP26xx {
			want = appliance.URLFormFolder
		}
		site := appliance.DefaultSettings()
		p := &appliance.Phone{MAC: appliance.MAC{0, 0x0b, 0x82, 0, 0, 1}, Model: m.Name}
		c := &Coordinator{settings: site, assignments: map[appliance.MAC]appliance.Assignment{p.MAC: {Extension: "201"}}}
		if got := c.urlFormLocked(p); got != want {
			t.Errorf("%s (%s): %s, want %s", m.Name, m.Family, got, want)
		}
	}
}

func TestURLFormSettings(t *testing.T) {
	if f := appliance.DefaultSettings().NotifyURLForm; f != appliance.URLFormAuto {
		t.Errorf("default notify_url_form %q, want auto", f)
	}
	for in, want := range map[string]string{"": "auto", "auto": "auto", "FILE": "file", " folder ": "folder", "dir": "!"} {
		s, err := appliance.Settings{NotifyURLForm: in}.Normalize()
		if want == "!" {
			if fieldOf(err) != "notify_url_form" {
				t.Errorf("site %q: %v, want a field error", in, err)
			}
		} else if err != nil || s.NotifyURLForm != want {
			t.Errorf("site %q: %q %v, want %q", in, s.NotifyURLForm, err, want)
		}
		a, err := appliance.Assignment{Extension: "201", NotifyURLForm: in}.Normalize()
		if want == "auto" {
			want = "" // stored as "": no choice of its own
		}
		if want == "!" {
			if fieldOf(err) != "notify_url_form" {
				t.Errorf("phone %q: %v, want a field error", in, err)
			}
		} else if err != nil || a.NotifyURLForm != want {
			t.Errorf("phone %q: %q %v, want %q", in, a.NotifyURLForm, err, want)
		}
	}
}

// A phone that answers its NOTIFY with 200 and announces itself again
// without fetching anything ignored the URL: the history suggests the
// other form. A retry of the same SUBSCRIBE, or a phone that did fetch,
// gets no suggestion.
func TestURLFormHintWhenNotifiedWithoutDownload(t *testing.T) {
	for _, tc := range []struct {
		name     string
		model    string
		download bool
		callID   string
		want     string // "" none
	}{
		{"GXP ignored the file form", "GXP2140", false, "c2", `may want the folder URL form instead of file; set "notify_url_form":"folder"`},
		{"GRP ignored the folder form", "GRP2612W", false, "c2", `may want the file URL form instead of folder; set "notify_url_form":"file"`},
		{"retry of the same SUBSCRIBE", "GXP2140", false, "c1", ""},
		{"downloaded", "GXP2140", true, "c2", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			m := mac(t, "000B82000001")
			d := disc(m, "198.18.0.100", "c1")
			d.Model = tc.model
			f.c.discover(d)
			if _, err := f.c.Assign(m, assignment); err != nil {
				t.Fatal(err)
			}
			f.c.ProvisionAll()
			f.c.notifWG.Wait()
			if tc.download {
				if err := f.download(t, m, ""); err != nil {
					t.Fatal(err)
				}
			}
			d.Dialog.CallID = tc.callID
			f.c.discover(d)
			var hints []string
			for _, e := range f.events(t, appliance.EventNotify) {
				if strings.Contains(e, "URL form") {
					hints = append(hints, e)
				}
			}
			if tc.want == "" {
				if len(hints) != 0 {
					t.Errorf("hints %q, want none", hints)
				}
				return
			}
			if len(hints) != 1 || !strings.Contains(hints[0], tc.want) {
				t.Errorf("hints %q, want one saying %q", hints, tc.want)
			}
		})
	}
}

// The stale-notify rule: a press that re-sends to a phone notified long
// ago without a download says the same.
func TestURLFormHintOnStaleNotify(t *testing.T) {
	f := newFixture(t)
	m := f.notified(t, "000B82000001")
	f.c.mu.Lock()
	f.c.phones[m].NotifiedAt = f.c.phones[m].NotifiedAt.Add(-2 * staleNotified)
	f.c.mu.Unlock()
	f.c.ProvisionAll()
	f.c.notifWG.Wait()
	if f.n.Count() != 2 {
		t.Fatalf("%d NOTIFYs, want the stale phone notified again", f.n.Count())
	}
	var hints int
	for _, e := range f.events(t, appliance.EventNotify) {
		if strings.Contains(e, `may want the folder URL form`) {
			hints++
		}
	}
	if hints != 1 {
		t.Errorf("%d hints, want 1", hints)
	}
}
