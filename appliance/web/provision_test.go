package web

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pnpbox/pnpbox/appliance"
)

// summary is POST /api/provision's answer.
type summary struct {
	Error   string   `json:"error"`
	Sent    []string `json:"sent"`
	Skipped []struct {
		MAC    string `json:"mac"`
		Reason string `json:"reason"`
	} `json:"skipped"`
	Pooled []struct {
		MAC       string `json:"mac"`
		Extension string `json:"extension"`
	} `json:"pooled"`
}

func TestProvisionOne(t *testing.T) {
	b := newTestBox(t)
	b.admin.Call(t, "PUT", "/api/settings", `{"sip_server":"pbx.example.net"}`, nil)
	m := b.announce("000B82112233", "198.18.0.10")
	b.admin.Call(t, "PUT", "/api/phones/000B82112233/assignment", `{"extension":"201","password":"pw-201-secret"}`, nil)

	var out map[string]string
	if code := b.admin.Call(t, "POST", "/api/phones/000b82112233/provision", "", &out); code != 202 || out["status"] != "NOTIFY sent" {
		t.Fatalf("provision: %d %v", code, out)
	}
	b.waitFor("the NOTIFY's outcome", func() bool {
		e, _ := b.coord.Phone(m)
		return e.Phone.LastNotify != nil
	})
	calls := b.notifier.Calls()
	if len(calls) != 1 || calls[0].URL != "http://198.18.0.1:8080"+b.configPath("000B82112233") {
		t.Fatalf("NOTIFYs: %+v; want one with the phone's config URL", calls)
	}
	var p map[string]any
	b.admin.Call(t, "GET", "/api/phones/000B82112233", "", &p)
	if n, _ := p["notify"].(map[string]any); p["state"] != "notified" || n["result"] != "ok" || p["notify_in_flight"] != false {
		t.Errorf("after the NOTIFY: %v", p)
	}

	b.admin.Call(t, "PUT", "/api/phones/000B82445566/assignment", `{"extension":"202","password":"pw-202-secret"}`, nil)
	b.announce("000B82778899", "198.18.0.11")
	for _, tt := range []struct {
		mac  string
		code int
		want string
	}{
		{"000B82445566", 409, "not announced itself"}, // pre-staged, not seen
		{"000B82778899", 409, "assignment"},           // seen, no assignment
		{"000B82FFFFFF", 404, "no such phone"},
		{"nonsense", 400, "bad MAC"},
	} {
		var e apiError
		if code := b.admin.Call(t, "POST", "/api/phones/"+tt.mac+"/provision", "", &e); code != tt.code || !strings.Contains(e.Error, tt.want) {
			t.Errorf("provision %s: %d %+v; want %d mentioning %q", tt.mac, code, e, tt.code, tt.want)
		}
	}
	if n := b.notifier.Count(); n != 1 {
		t.Errorf("%d NOTIFYs after the refusals, want 1", n)
	}
}

// TestProvisionAllAndPool: the button gives discovered phones pool
// extensions in the order they announced themselves, sends every pending
// seen phone its NOTIFY, and lists the rest with why.
func TestProvisionAllAndPool(t *testing.T) {
	b := newTestBox(t)
	var sum summary
	if code := b.admin.Call(t, "POST", "/api/provision", "", &sum); code != 202 || sum.Sent == nil || sum.Skipped == nil || sum.Pooled == nil {
		t.Fatalf("press with no phones: %d %+v; want 202 and empty lists", code, sum)
	}

	b.admin.Call(t, "PUT", "/api/settings", `{"sip_server":"pbx.example.net","extension_pool":"300-301"}`, nil)
	b.admin.Call(t, "PUT", "/api/phones/000B82000001/assignment", `{"extension":"201","password":"pw-201-secret"}`, nil) // seen below
	b.admin.Call(t, "PUT", "/api/phones/000B82000002/assignment", `{"extension":"202","password":"pw-202-secret"}`, nil) // never seen
	b.announce("000B82000001", "198.18.0.10")
	for i, mac := range []string{"000B820000A1", "000B820000A2", "000B820000A3"} {
		b.announce(mac, fmt.Sprintf("198.18.0.%d", 20+i))
	}
	var st map[string]any
	b.admin.Call(t, "GET", "/api/status", "", &st)
	if diff := cmp.Diff(map[string]any{"range": "300-301", "size": 2.0, "free": 2.0, "waiting": 3.0}, st["pool"]); diff != "" {
		t.Errorf("pool before the press (-want +got):\n%s", diff)
	}

	if code := b.admin.Call(t, "POST", "/api/provision", "", &sum); code != 202 {
		t.Fatalf("press: %d %+v", code, sum)
	}
	got := map[string]string{}
	for _, g := range sum.Pooled {
		got[g.MAC] = g.Extension
	}
	if diff := cmp.Diff(map[string]string{"000B820000A1": "300", "000B820000A2": "301"}, got); diff != "" {
		t.Errorf("pooled (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"000B82000001", "000B820000A1", "000B820000A2"}, sum.Sent); diff != "" {
		t.Errorf("sent (-want +got):\n%s", diff)
	}
	skipped := map[string]string{}
	for _, s := range sum.Skipped {
		skipped[s.MAC] = s.Reason
	}
	if len(skipped) != 2 || !strings.Contains(skipped["000B82000002"], "not announced itself") ||
		!strings.Contains(skipped["000B820000A3"], "no free extension left in the pool") {
		t.Errorf("skipped: %v", skipped)
	}
	b.waitFor("3 NOTIFYs answered", func() bool {
		var ps []map[string]any
		b.admin.Call(t, "GET", "/api/phones", "", &ps)
		n := 0
		for _, p := range ps {
			if p["state"] == "notified" {
				n++
			}
		}
		return n == 3
	})
	b.admin.Call(t, "GET", "/api/status", "", &st)
	if pool := st["pool"].(map[string]any); pool["free"] != 0.0 || pool["waiting"] != 1.0 {
		t.Errorf("pool after the press: %v", pool)
	}
	var p map[string]any
	b.admin.Call(t, "GET", "/api/phones/000B820000A1", "", &p)
	if a, _ := p["assignment"].(map[string]any); a["extension"] != "300" || a["password_set"] != true {
		t.Errorf("pooled phone: %v", p)
	}
	var evs []appliance.Event
	b.admin.Call(t, "GET", "/api/events", "", &evs)
	var pool []string
	for _, e := range evs {
		if e.Kind == appliance.EventPool {
			pool = append(pool, e.Detail)
		}
	}
	if len(pool) != 2 || !strings.Contains(pool[1], "2 extensions handed out (300 … 301)") {
		t.Errorf("pool events: %q", pool)
	}
}

func TestProvisioningFiles(t *testing.T) {
	b := newTestBox(t)
	b.admin.Call(t, "PUT", "/api/settings", `{"sip_server":"pbx.example.net"}`, nil)
	b.announce("000B82112233", "198.18.0.10")
	b.admin.Call(t, "PUT", "/api/phones/000B82112233/assignment", `{"extension":"201","password":"pw-201-secret"}`, nil)
	path := b.configPath("000B82112233") // /p/<token>/cfg000B82112233
	folder := strings.TrimSuffix(path, "cfg000B82112233")
	if folder == path || len(folder) != len("/p/")+32+1 {
		t.Fatalf("config path %q", path)
	}
	for i, file := range []string{"cfg000B82112233", "cfg000b82112233.xml", "CFG000B82112233.XML", "cfggxp2140.xml", "cfg.xml", ""} {
		res := b.anon.Fetch(t, "GET", folder+file, "", nil)
		if res.Code != 200 || res.Header.Get("Content-Type") != "application/xml" || res.Header.Get("Cache-Control") != "no-store" ||
			!bytes.Contains(res.Body, []byte("<P35>201</P35>")) || !bytes.Contains(res.Body, []byte("pw-201-secret")) {
			t.Errorf("GET %q: %d %v\n%.300s", file, res.Code, res.Header, res.Body)
		}
		var p map[string]any
		b.admin.Call(t, "GET", "/api/phones/000B82112233", "", &p)
		if p["downloads"] != float64(i+1) {
			t.Errorf("after GET %q: %v downloads, want %d", file, p["downloads"], i+1)
		}
	}

	b.admin.Call(t, "PUT", "/api/phones/000B82445566/assignment", `{"extension":"202","password":"pw-202-secret"}`, nil)
	other := b.configPath("000B82445566")
	b.admin.Call(t, "DELETE", "/api/phones/000B82445566/assignment", "", nil) // forgotten: its token is dead
	for _, p := range []string{
		"/p/00000000000000000000000000000000/cfg000B82112233", // unknown token
		folder + "cfg000B82445566",                            // another MAC's file name
		folder + "cfg000B82445566.xml",
		folder + "cfggxp2160.xml", // another model's
		folder + "config.bin",
		other, // a token whose phone has no assignment any more
		"/cfg000b82112233.xml",
		"/p/",
		"/p/x/../cfg.xml",
	} {
		res := b.anon.Fetch(t, "GET", p, "", nil)
		if res.Code != 404 || bytes.Contains(res.Body, []byte("000B82")) || bytes.Contains(res.Body, []byte("pw-")) {
			t.Errorf("GET %s: %d %q; want a plain 404", p, res.Code, res.Body)
		}
	}
}

// TestProvisioningFilesThrottled: an address that collects 20 misses in a
// minute is refused for a while, even for a good path; others are not.
func TestProvisioningFilesThrottled(t *testing.T) {
	b := newTestBox(t)
	b.admin.Call(t, "PUT", "/api/phones/000B82112233/assignment", `{"extension":"201","password":"pw-201-secret"}`, nil)
	good := b.configPath("000B82112233")
	if res := b.anon.Fetch(t, "GET", good, "", nil); res.Code != 200 {
		t.Fatalf("good path: %d", res.Code)
	}
	for i := range 20 {
		if res := b.anon.Fetch(t, "GET", "/p/00000000000000000000000000000000/cfg.xml", "", nil); res.Code != 404 {
			t.Fatalf("miss %d: %d", i, res.Code)
		}
	}
	res := b.anon.Fetch(t, "GET", good, "", nil)
	if res.Code != 429 || res.Header.Get("Retry-After") != "60" {
		t.Errorf("good path after 20 misses: %d, Retry-After %q; want 429, 60", res.Code, res.Header.Get("Retry-After"))
	}
	b.clock.advance(time.Minute)
	if res := b.anon.Fetch(t, "GET", good, "", nil); res.Code != 200 {
		t.Errorf("good path a minute later: %d", res.Code)
	}
}
