//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pnpbox/pnpbox/internal/apiclient"
)

const password = "e2e-admin-password"

// box is pnpd running in the LAN's box namespace.
type box struct {
	t    *testing.T
	proc *proc
	http *http.Client
	base string
}

func startBox(t *testing.T, l *lan, extra ...string) *box {
	t.Helper()
	data := t.TempDir()
	args := append([]string{bins.pnpd, "-iface", "lan0", "-board", "sim", "-data", data, "-http", ":8080",
		"-admin-password", password}, extra...)
	b := &box{t: t, proc: start(t, l.box, "pnpd", args...), http: l.box.HTTPClient(), base: "http://" + boxAddr + ":8080"}
	waitFor(t, 30*time.Second, "pnpd healthy", func() bool {
		res, err := b.http.Get(b.base + "/healthz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == 200
	})
	return b
}

func (b *box) api(method, path, body string, out any) int {
	b.t.Helper()
	c := &apiclient.Client{Base: b.base, Password: password, HTTP: b.http}
	return c.Call(b.t, method, path, body, out)
}

type phone struct {
	MAC        string `json:"mac"`
	State      string `json:"state"`
	IP         string `json:"ip"`
	Model      string `json:"model"`
	Downloads  int    `json:"downloads"`
	ConfigURL  string `json:"config_url"`
	Assignment *struct {
		Extension string `json:"extension"`
	} `json:"assignment"`
}

func (b *box) phones() []phone {
	var ps []phone
	b.api("GET", "/api/phones", "", &ps)
	return ps
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// report is phonesim's -json output (the fields this test reads).
type report struct {
	Provisioned int `json:"provisioned"`
	Total       int `json:"total"`
	Phones      []struct {
		MAC            string `json:"mac"`
		IP             string `json:"ip"`
		NotifyReceived bool   `json:"notify_received"`
		FirstOK        bool   `json:"first_download_ok"`
		SecondOK       bool   `json:"second_download_ok"`
		Identical      bool   `json:"identical"`
		ExtraNotifies  int    `json:"extra_notifies"`
		Error          string `json:"error"`
	} `json:"phones"`
}

func macOf(i int) string { return fmt.Sprintf("000B82D%05X", i+1) }

// TestFleet is the Plug-and-Play loop end to end: 50 simulated GXP phones
// announce themselves by real multicast from one namespace to pnpd in
// another; 49 are pre-staged, one is not. After POST /api/provision every
// assigned phone is NOTIFYed, downloads its config, "reboots" and
// downloads it again byte for byte; the unassigned one stays discovered.
func TestFleet(t *testing.T) {
	requireRoot(t)
	const n = 50
	l := newLAN(t, n)
	b := startBox(t, l)
	unassigned := macOf(n - 1)
	if code := b.api("PUT", "/api/settings", `{"sip_server":"pbx.example.net"}`, nil); code != 200 {
		t.Fatalf("settings: %d", code)
	}
	for i := range n - 1 {
		body := fmt.Sprintf(`{"extension":"%d","password":"pw-%d-secret","display_name":"Desk %d"}`, 200+i, 200+i, i)
		if code := b.api("PUT", "/api/phones/"+macOf(i)+"/assignment", body, nil); code != 200 {
			t.Fatalf("pre-stage %s: %d", macOf(i), code)
		}
	}
	sim := start(t, l.phones, "phonesim", bins.phonesim, "-n", fmt.Sprint(n), "-first-ip", phoneIP(0),
		"-first-mac", macOf(0), "-iface", "lan0", "-reboot", "1s", "-json", "-timeout", "5m")

	// Every phone is recorded exactly once however often it retried.
	waitFor(t, 60*time.Second, "50 phones seen", func() bool {
		seen := 0
		for _, p := range b.phones() {
			if p.IP != "" {
				seen++
			}
		}
		return seen == n
	})
	if ps := b.phones(); len(ps) != n {
		t.Fatalf("%d phone records for %d phones", len(ps), n)
	}

	var sum struct {
		Sent []string `json:"sent"`
	}
	if code := b.api("POST", "/api/provision", "", &sum); code != 202 || len(sum.Sent) != n-1 {
		t.Fatalf("POST /api/provision: %d, sent to %d phones, want %d", code, len(sum.Sent), n-1)
	}
	waitFor(t, 3*time.Minute, "49 phones provisioned", func() bool {
		done := 0
		for _, p := range b.phones() {
			if p.State == "provisioned" {
				done++
			}
		}
		return done == n-1
	})

	// The phones that never get a NOTIFY keep phonesim waiting: stop it
	// and read its report.
	sim.stop(t, syscall.SIGINT)
	var rep report
	if err := json.Unmarshal([]byte(jsonPart(sim.output())), &rep); err != nil {
		t.Fatalf("phonesim report: %v\n%s", err, sim.output())
	}
	if rep.Provisioned != n-1 || rep.Total != n {
		t.Errorf("phonesim: %d/%d provisioned, want %d/%d", rep.Provisioned, rep.Total, n-1, n)
	}
	for _, p := range rep.Phones {
		if p.MAC == unassigned {
			if p.NotifyReceived {
				t.Errorf("the unassigned phone %s got a NOTIFY", p.MAC)
			}
			continue
		}
		if !p.FirstOK || !p.SecondOK || !p.Identical || p.ExtraNotifies != 0 {
			t.Errorf("phone %s: first %v second %v identical %v extra NOTIFYs %d error %q",
				p.MAC, p.FirstOK, p.SecondOK, p.Identical, p.ExtraNotifies, p.Error)
		}
	}

	var lone phone
	b.api("GET", "/api/phones/"+unassigned, "", &lone)
	if lone.State != "discovered" || lone.Downloads != 0 {
		t.Errorf("unassigned phone: %+v", lone)
	}

	// A wrong token gets a 404 and no hint of which MACs exist.
	var p0 phone
	b.api("GET", "/api/phones/"+macOf(0), "", &p0)
	tok := strings.Split(strings.TrimPrefix(p0.ConfigURL, b.base+"/p/"), "/")[0]
	wrong := strings.Repeat("0", len(tok))
	for _, path := range []string{"/p/" + wrong + "/cfg" + macOf(0), "/p/" + tok + "/cfg" + strings.ToLower(macOf(1)) + ".xml", "/cfg" + strings.ToLower(macOf(0)) + ".xml"} {
		res, err := b.http.Get(b.base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 404 || strings.Contains(strings.ToUpper(string(body)), "000B82") {
			t.Errorf("GET %s: %d %q", path, res.StatusCode, body)
		}
	}

	var st struct {
		MulticastJoined bool           `json:"multicast_joined"`
		Counts          map[string]int `json:"counts"`
		SIP             struct {
			Dropped map[string]int `json:"dropped"`
		} `json:"sip"`
	}
	b.api("GET", "/api/status", "", &st)
	if !st.MulticastJoined || st.Counts["provisioned"] != n-1 || st.Counts["discovered"] != 1 {
		t.Errorf("status: %+v", st)
	}
	t.Logf("box status: %+v", st)
}

// jsonPart returns the JSON object in phonesim's combined output (its
// stderr lines come before it).
func jsonPart(s string) string {
	if i := strings.Index(s, "{"); i >= 0 {
		return s[i:]
	}
	return s
}
