package web

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/appliance/pnp"
	"github.com/pnpbox/pnpbox/appliance/provision"
)

// TestPageForgetPhone: "Forget this phone" on a phone the box has seen
// removes it, its config URL and its assignment.
func TestPageForgetPhone(t *testing.T) {
	b := newPageBox(t, true)
	b.run()
	b.login()
	m := pageMAC(t, "000B82A1B2C3")
	b.see(m, "192.0.2.50")
	if _, err := b.coord.Assign(m, appliance.Assignment{Extension: "201", Password: "sip-pw-secret-9"}); err != nil {
		t.Fatal(err)
	}
	res, body := b.get("/phones/" + m.String())
	wantPage(t, "phone page", res, body, 200, `action="/phones/`+m.String()+`/forget-phone"`, "Forget this phone", "Remove assignment")
	res, _ = b.post("/phones/"+m.String()+"/forget-phone", nil)
	_, body = b.get(res.Header.Get("Location"))
	wantPage(t, "forgotten", res, body, 303, "Forgot "+m.String(), "No phones yet")
	if _, err := b.coord.Phone(m); err == nil {
		t.Error("the phone is still known after Forget this phone")
	}
	res, body = b.post("/phones/"+m.String()+"/forget-phone", nil)
	wantPage(t, "forget an unknown phone", res, body, 404, "knows no phone")
}

// TestPageReasons: a displaced phone says who took its address, on its
// page and in the table; an extension other phones hold is named beside
// the extension after saving.
func TestPageReasons(t *testing.T) {
	b := newPageBox(t, true)
	b.run()
	b.login()
	old, taker := pageMAC(t, "000B82000011"), pageMAC(t, "000B82000012")
	b.see(old, "192.0.2.60")
	b.see(taker, "192.0.2.60")
	e, _ := b.coord.Phone(old)
	if e.Phone.Displaced == nil {
		t.Fatalf("phone %s not displaced: %+v", old, e.Phone)
	}
	want := "another phone took this address: 192.0.2.60 (" + taker.String() + ")"
	res, body := b.get("/phones/" + old.String())
	wantPage(t, "displaced phone's page", res, body, 200, want, "Not reachable")
	_, body = b.get("/")
	if row := tableRow(body, old); !strings.Contains(row, want) {
		t.Errorf("the table's row for %s does not give the reason %q:\n%s", old, want, row)
	}
	if strings.Contains(tableRow(body, taker), want) {
		t.Error("the phone that took the address is marked displaced")
	}

	b.coord.Assign(old, appliance.Assignment{Extension: "250", Password: "pw-250-secret"})
	res, _ = b.post("/phones/"+taker.String()+"/edit", map[string][]string{"do": {"save"}, "extension": {"250"}, "password": {"pw-250-other"}, "key_rows": {"0"}})
	_, body = b.get(res.Header.Get("Location"))
	wantPage(t, "saved a shared extension", res, body, 303, "Saved: extension 250",
		"Note: extension 250 is also assigned to "+old.String()+": allowed, every phone on it rings",
		`<dt>Extension<dd>250<p class="warn">extension 250 is also assigned to `+old.String())
}

// tableRow is the table row of phone m in body, or "".
func tableRow(body string, m appliance.MAC) string {
	i := strings.Index(body, `<tr id="m`+m.String()+`"`)
	if i < 0 {
		return ""
	}
	row := body[i:]
	if j := strings.Index(row[1:], "<tr"); j >= 0 {
		row = row[:j+1]
	}
	return row
}

// TestPendingIsOneRule: the pending filter, its count and the button's N
// are provision.IsPending: a phone notified a minute ago is not pending
// (the press would not send it again), one notified over five minutes
// ago without fetching its config is.
func TestPendingIsOneRule(t *testing.T) {
	b := newPageBox(t, true)
	b.run()
	b.login()
	b.coord.UpdateSettings(sipServer("pbx.example.net"))
	notified, staged := pageMAC(t, "000B82000021"), pageMAC(t, "000B82000022")
	b.see(notified, "192.0.2.61")
	b.coord.Assign(notified, appliance.Assignment{Extension: "261", Password: "pw-261-secret"})
	b.coord.Assign(staged, appliance.Assignment{Extension: "262", Password: "pw-262-secret"})
	if err := b.coord.Provision(notified); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if e, _ := b.coord.Phone(notified); e.Phone.State == appliance.StateNotified {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the phone never reached notified")
		}
		time.Sleep(10 * time.Millisecond)
	}
	check := func(when string, want ...appliance.MAC) {
		t.Helper()
		_, body := b.get("/?show=pending")
		var got []string
		for _, m := range []appliance.MAC{notified, staged} {
			if tableRow(body, m) != "" {
				got = append(got, m.String())
			}
		}
		var ruled []string
		now := b.clock.now()
		for _, e := range b.coord.Phones() {
			if provision.IsPending(&e.Phone, e.Assignment != nil, now) {
				ruled = append(ruled, e.Phone.MAC.String())
			}
		}
		n := len(want)
		if strings.Join(got, ",") != strings.Join(ruled, ",") || len(got) != n {
			t.Errorf("%s: pending rows %v, provision.IsPending %v, want %d", when, got, ruled, n)
		}
		for _, s := range []string{"Provision all pending (" + itoa(n) + ")", "pending (" + itoa(n) + ")"} {
			if !strings.Contains(body, s) {
				t.Errorf("%s: the page does not say %q", when, s)
			}
		}
	}
	check("just notified", staged)
	b.clock.add(6 * time.Minute)
	check("notified six minutes ago", notified, staged)

	// A discovered phone the pool would give an extension is counted
	// apart: it is not pending (it has no assignment yet).
	if _, err := b.coord.UpdateSettings(func(s appliance.Settings) (appliance.Settings, error) {
		s.ExtensionPool = "300-309"
		return s, nil
	}); err != nil {
		t.Fatal(err)
	}
	b.see(pageMAC(t, "000B82000023"), "192.0.2.62")
	_, body := b.get("/")
	if !strings.Contains(body, "Provision all pending (2 + 1 from the pool)") {
		t.Errorf("the button does not count the pool's phone apart:\n%s", body)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestCSVReportWarnings: the dry run's report names an extension another
// phone holds, row by row, before anything is written.
func TestCSVReportWarnings(t *testing.T) {
	b := newPageBox(t, true)
	b.login()
	held := pageMAC(t, "000B82000031")
	b.coord.Assign(held, appliance.Assignment{Extension: "500", Password: "pw-500-secret"})
	file := "mac,extension,password\n000B82000032,500,pw-500-other\n000B82000033,501,pw-501-secret\n"
	res, body := b.upload("/csv/check", "file", "shared.csv", file, nil)
	wantPage(t, "dry run with a shared extension", res, body, 200, "the file is good", "Allowed, but worth a look",
		`<td>2<td><a href="/phones/000B82000032">000B82000032</a><td>extension<td class="warn">`, held.String())
	if strings.Contains(body, "000B82000033</a><td>extension<td class=\"warn\">") {
		t.Error("a row with an extension of its own is warned about")
	}
}

// timelineBox is a running box with a page session and a SIP server, and
// phone mac seen at ip and assigned extension ext.
func timelineBox(t *testing.T, mac, ip, ext string) (*pageBox, appliance.MAC) {
	t.Helper()
	b := newPageBox(t, true)
	b.run()
	b.login()
	b.coord.UpdateSettings(sipServer("pbx.example.net"))
	m := pageMAC(t, mac)
	b.see(m, ip)
	if _, err := b.coord.Assign(m, appliance.Assignment{Extension: ext, Password: "pw-" + ext + "-secret"}); err != nil {
		t.Fatal(err)
	}
	return b, m
}

// TestTimelineURLFormHint: a phone that took its NOTIFY and fetched
// nothing, then announces itself again, has the box's advice in its
// timeline, readable and linked to the form where the URL form is chosen.
func TestTimelineURLFormHint(t *testing.T) {
	b, m := timelineBox(t, "000B82000041", "192.0.2.71", "271")
	if err := b.coord.Provision(m); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if e, _ := b.coord.Phone(m); e.Phone.State == appliance.StateNotified {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the phone never reached notified")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// It boots again (a new Call-ID) without having fetched its config.
	a := netip.MustParseAddr("192.0.2.71")
	b.coord.Offer(pnp.Discovery{MAC: m, Vendor: "Grandstream", Model: "GXP2130", Firmware: "1.0.11.3",
		Contact: netip.AddrPortFrom(a, 5060), Source: netip.AddrPortFrom(a, 5060), Txn: "t2",
		Dialog: appliance.Dialog{CallID: "c2-" + m.String(), RemoteAddr: netip.AddrPortFrom(a, 5060)}})
	for {
		evs, _ := b.coord.Events(provision.EventFilter{MAC: &m})
		if slices.ContainsFunc(evs, func(e appliance.Event) bool { return strings.Contains(e.Detail, "notify_url_form") }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no URL form hint among %+v", evs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	res, body := b.get("/phones/" + m.String())
	wantPage(t, "timeline", res, body, 200, `<li class="hint-ev">`,
		"its firmware may want the folder URL form instead of file; set &#34;notify_url_form&#34;:&#34;folder&#34;",
		`<a href="/phones/`+m.String()+`/edit#urlform">choose the URL form in the assignment</a>`)
}

// TestTimelineCountsRepeatedDownloads: a download repeated before the
// event is written is one line of the phone's timeline and the box's
// history, with how many times it happened.
func TestTimelineCountsRepeatedDownloads(t *testing.T) {
	b, m := timelineBox(t, "000B82000042", "192.0.2.72", "272")
	e, _ := b.coord.Phone(m)
	req := provision.DownloadRequest{Token: e.Phone.Token, File: "cfg" + m.Lower() + ".xml", Remote: e.Phone.IP,
		UserAgent: "Grandstream GXP2130 1.0.11.3", Local: netip.MustParseAddrPort("192.0.2.1:80")}
	// The first download moves the phone to downloaded (a state event);
	// the three after it are one event counted three times.
	for range 4 {
		if _, err := b.coord.Download(req); err != nil {
			t.Fatal(err)
		}
	}
	res, body := b.get("/phones/" + m.String())
	wantPage(t, "phone", res, body, 200, "<b>×3</b>")
	if strings.Count(body, "<b>download</b>") != 2 {
		t.Errorf("phone page: %d download lines, want 2", strings.Count(body, "<b>download</b>"))
	}
	res, body = b.get("/box")
	wantPage(t, "box", res, body, 200, "<b>×3</b>")
}
