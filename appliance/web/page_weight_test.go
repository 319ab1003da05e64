package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/appliance/pnp"
)

// fleet gives the box n phones: all announced, all but every tenth
// assigned by one CSV import, a few provisioned-looking states aside.
func (b *pageBox) fleet(n int) {
	b.t.Helper()
	var csv strings.Builder
	csv.WriteString("mac,extension,password,display_name\n")
	for i := range n {
		if i%10 != 9 {
			fmt.Fprintf(&csv, "000B82%06X,%d,pw-%d-secret-xyz,Desk %d in room %d\n", i+1, 1000+i, i, i, i/4)
		}
	}
	if _, err := b.coord.ImportCSV(strings.NewReader(csv.String()), false); err != nil {
		b.t.Fatal(err)
	}
	for i := range n {
		m, _ := appliance.ParseMAC(fmt.Sprintf("000B82%06X", i+1))
		a := netip.AddrFrom4([4]byte{10, 20, byte(i >> 8), byte(i)})
		for !b.coord.Offer(pnp.Discovery{MAC: m, Vendor: "Grandstream", Model: "GXP2160", Firmware: "1.0.11.23",
			Contact: netip.AddrPortFrom(a, 5060), Source: netip.AddrPortFrom(a, 5060), Txn: m.String(),
			Dialog: appliance.Dialog{CallID: m.String(), RemoteAddr: netip.AddrPortFrom(a, 5060)}}) {
			time.Sleep(time.Millisecond)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		seen := 0
		for _, e := range b.coord.Phones() {
			if e.Phone.Seen() {
				seen++
			}
		}
		if seen == n {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%d of %d phones recorded", seen, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sessionCookieFor logs in through the handler and returns the cookie.
func (b *pageBox) sessionCookieFor() *http.Cookie {
	b.t.Helper()
	req := httptest.NewRequest("POST", "http://127.0.0.1/login", strings.NewReader(url.Values{"password": {pagePassword}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	b.h.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.Name == sessionCookie {
			return c
		}
	}
	b.t.Fatalf("login: %d", rec.Code)
	return nil
}

// maxPage is the page weight budget: a phone's browser on a weak Wi-Fi.
const maxPage = 100 << 10

// TestPageWeight1000: with 1,000 phones every page stays under 100 KB
// (the table shows 200 rows a page) and every phone is reachable.
func TestPageWeight1000(t *testing.T) {
	b := newPageBox(t, true)
	b.run()
	b.fleet(1000)
	b.login()
	found := map[string]bool{}
	for page := 1; page <= 5; page++ {
		res, body := b.get(fmt.Sprintf("/?page=%d", page))
		if res.StatusCode != 200 || len(body) > maxPage {
			t.Errorf("page %d: %d, %d bytes (budget %d)", page, res.StatusCode, len(body), maxPage)
		}
		if page == 1 {
			t.Logf("phones page with 1,000 phones: %d bytes (+ %d CSS, %d script)", len(body), assetSize("page.css"), assetSize("page.js"))
		}
		for _, part := range strings.Split(body, `<tr id="m`)[1:] {
			found[part[:12]] = true
		}
	}
	if len(found) != 1000 {
		t.Errorf("%d distinct phones over 5 pages, want 1000", len(found))
	}
	for _, path := range []string{"/phones/live", "/?show=pending", "/phones/000B82000001", "/settings", "/box", "/csv", "/add"} {
		res, body := b.get(path)
		if res.StatusCode != 200 || len(body) > maxPage {
			t.Errorf("%s: %d, %d bytes", path, res.StatusCode, len(body))
		}
		if strings.Contains(body, "-secret-xyz") {
			t.Errorf("%s holds a SIP password", path)
		}
	}
}

func assetSize(name string) int {
	b, _ := assets.ReadFile("assets/" + name)
	return len(b)
}

// BenchmarkPhonesPage1000 renders the phones page (first 200 rows,
// filters counted over all) for 1,000 phones. Budget: 200 ms.
func BenchmarkPhonesPage1000(b *testing.B) {
	pb := newPageBox(b, true)
	pb.run()
	pb.fleet(1000)
	c := pb.sessionCookieFor()
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("GET", "http://127.0.0.1/", nil)
		req.AddCookie(c)
		rec := httptest.NewRecorder()
		pb.h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("GET /: %d", rec.Code)
		}
	}
}
