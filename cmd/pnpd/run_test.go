package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pnpbox/pnpbox/internal/apiclient"
)

const testPassword = "correct-horse-42"

// daemon is pnpd's run() in this process, on loopback.
type daemon struct {
	base    string // http://127.0.0.1:port
	sipPort int
	https   string // host:port of the HTTPS listener
	data    string
	cancel  context.CancelFunc
	done    chan error
}

// startDaemon runs pnpd on loopback with ephemeral ports and waits until it
// says it is ready.
func startDaemon(t *testing.T, extra ...string) *daemon {
	t.Helper()
	d := &daemon{data: t.TempDir(), done: make(chan error, 1)}
	args := append([]string{"-iface", "lo", "-board", "sim", "-data", d.data, "-http", "127.0.0.1:0",
		"-https", "127.0.0.1:0", "-sip-port", "0", "-admin-password", testPassword}, extra...)
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	ready := make(chan serving, 1)
	go func() {
		err := run(ctx, args, io.Discard, pw, func(s serving) { ready <- s })
		pw.Close()
		d.done <- err
	}()
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			t.Log(sc.Text())
		}
		io.Copy(io.Discard, pr)
	}()
	select {
	case s := <-ready:
		d.base = "http://" + s.HTTP
		d.https = s.HTTPS
		d.sipPort = s.SIPPort
	case err := <-d.done:
		t.Fatalf("pnpd exited before ready: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("pnpd not ready after 30 s")
	}
	t.Cleanup(func() { d.stop(t) })
	return d
}

func (d *daemon) stop(t *testing.T) {
	if d.cancel == nil {
		return
	}
	d.cancel()
	d.cancel = nil
	select {
	case err := <-d.done:
		if err != nil {
			t.Errorf("pnpd: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("pnpd did not shut down within 30 s")
	}
}

// api makes an authenticated request and decodes a JSON answer into out
// (if non-nil); it returns the status code.
func (d *daemon) api(t *testing.T, method, path, body string, out any) int {
	t.Helper()
	return apiclient.New(d.base, testPassword).Call(t, method, path, body, out)
}

// waitFor polls cond until it holds or 30 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if err := run(t.Context(), []string{"-version"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "pnpd ") {
		t.Errorf("-version printed %q", out.String())
	}
}

func TestFlagErrors(t *testing.T) {
	for _, args := range [][]string{{"-board", "pi"}, {"-net", "wifi"}, {"-sip-port", "70000"}, {"stray"},
		{"-net", "static"}, {"-addr", "192.0.2.300/24"}, {"-addr", "192.0.2.1"}, {"-gw", "gateway"}, {"-vlan", "4095"},
		{"-vlan-addr", "x"}, {"-dhcp-timeout", "0s"}, {"-sip-source-rate", "-1"}, {"-iface", "lo", "-vlan-addr", "192.0.2.1/24"},
		{"-iface", "lo", "-net", "static", "-addr", "192.0.2.10/24", "-gw", "198.51.100.1"}} {
		if err := run(t.Context(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("run(%q) = nil, want an error", args)
		}
	}
	t.Setenv("PNPD_BOARD", "nonsense")
	if err := run(t.Context(), nil, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "PNPD_BOARD") {
		t.Errorf("bad PNPD_BOARD: %v", err)
	}
}

func TestAPI(t *testing.T) {
	d := startDaemon(t)
	t.Run("auth", func(t *testing.T) {
		res, err := http.Get(d.base + "/api/phones")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized || res.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("no credentials: %d", res.StatusCode)
		}
		res, err = http.Get(d.base + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("/healthz: %d", res.StatusCode)
		}
	})
	t.Run("pre-stage", func(t *testing.T) {
		var p map[string]any
		code := d.api(t, "PUT", "/api/phones/00:0b:82:11:22:33/assignment", `{"extension":"201","password":"pw-201-secret","display_name":"Front desk","codecs":["pcmu","G722"]}`, &p)
		if code != 200 || p["state"] != "assigned" || p["mac"] != "000B82112233" || p["ip"] != nil {
			t.Fatalf("%d %v", code, p)
		}
		a := p["assignment"].(map[string]any)
		if _, leaked := a["password"]; leaked || a["password_set"] != true {
			t.Errorf("password not masked: %v", a)
		}
		var list []map[string]any
		if d.api(t, "GET", "/api/phones", "", &list); len(list) != 1 {
			t.Errorf("phones: %v", list)
		}
		if code := d.api(t, "GET", "/api/phones/000b82-112233", "", &p); code != 200 {
			t.Errorf("get by dashed lower-case MAC: %d", code)
		}
	})
	t.Run("errors", func(t *testing.T) {
		var e map[string]string
		for _, tt := range []struct {
			method, path, body string
			code               int
			want               string
		}{
			{"PUT", "/api/phones/000B82112233/assignment", `{"extension":"2 01","password":"x"}`, 400, "extension"},
			{"PUT", "/api/phones/000B82112233/assignment", `{"extension":"201","password":"x","codecs":["GSM"]}`, 400, "codecs[0]"},
			{"PUT", "/api/phones/000B82112233/assignment", `{"extension":"201","pasword":"x"}`, 400, "unknown field"},
			{"PUT", "/api/phones/nonsense/assignment", `{}`, 400, "bad MAC"},
			{"GET", "/api/phones/000B82FFFFFF", "", 404, "no such phone"},
			{"DELETE", "/api/phones/000B82FFFFFF/assignment", "", 404, "no such phone"},
			{"POST", "/api/phones/000B82112233/provision", "", 409, "not announced itself"},
			{"PUT", "/api/settings", `{"provision_mode":"sometimes"}`, 400, "provision_mode"},
			{"PUT", "/api/settings", `{"colour":"red"}`, 400, "unknown field"},
			{"GET", "/api/nothing", "", 404, "no such API endpoint"},
		} {
			e = nil
			code := d.api(t, tt.method, tt.path, tt.body, &e)
			if code != tt.code || !strings.Contains(e["error"], tt.want) {
				t.Errorf("%s %s %s: %d %v; want %d mentioning %q", tt.method, tt.path, tt.body, code, e, tt.code, tt.want)
			}
		}
	})
	t.Run("settings merge", func(t *testing.T) {
		var s map[string]any
		d.api(t, "PUT", "/api/settings", `{"sip_server":"pbx.example.net"}`, &s)
		d.api(t, "PUT", "/api/settings", `{"ntp_server":"pool.ntp.org"}`, &s)
		if s["sip_server"] != "pbx.example.net" || s["ntp_server"] != "pool.ntp.org" || s["provision_mode"] != "button" {
			t.Errorf("settings after two partial PUTs: %v", s)
		}
	})
	t.Run("config preview and secrets", func(t *testing.T) {
		d.api(t, "PUT", "/api/phones/000B82445566/assignment", `{"extension":"301","password":"pw-301-secret","model":"GXP2160",
			"accounts":[{"extension":"302","password":"pw-302-secret"}],"keys":[{"type":"blf","value":"201","label":"Reception"}]}`, nil)
		status, xml := d.do(t, "GET", "/api/phones/000B82445566/config", "", nil)
		if status != 200 || !bytes.Contains(xml, []byte("<P35>301</P35>")) || !bytes.Contains(xml, []byte("<P404>302</P404>")) {
			t.Fatalf("preview %d:\n%s", status, xml)
		}
		var sec map[string]string
		d.api(t, "GET", "/api/phones/000B82445566/secrets", "", &sec)
		for _, secret := range []string{"pw-301-secret", "pw-302-secret", sec["phone_admin_password"]} {
			if len(secret) < 8 || bytes.Contains(xml, []byte(secret)) {
				t.Errorf("preview leaks %q (or no generated phone admin password)", secret)
			}
		}
		var set map[string]any
		d.api(t, "PUT", "/api/settings", `{"phone_admin_password":"site-admin-pw"}`, &set)
		if set["phone_admin_password"] != "********" {
			t.Errorf("settings show the phone admin password: %v", set["phone_admin_password"])
		}
		d.api(t, "PUT", "/api/settings", `{"phone_admin_password":"********","language":"de"}`, nil) // a client echoing what it read
		d.api(t, "GET", "/api/phones/000B82445566/secrets", "", &sec)
		if sec["phone_admin_password"] != "site-admin-pw" {
			t.Errorf("echoing the mask changed the password to %q", sec["phone_admin_password"])
		}
		var e map[string]string
		code := d.api(t, "PUT", "/api/phones/000B82445566/assignment", `{"extension":"301","password":"pw","model":"GXP2130",
			"accounts":[{"extension":"302","password":"a"},{"extension":"303","password":"b"},{"extension":"304","password":"c"}]}`, &e)
		if code != 400 || e["field"] != "accounts" || !strings.Contains(e["error"], "GXP2130 has 3 accounts") {
			t.Errorf("too many accounts: %d %v", code, e)
		}
	})
	t.Run("no token no config", func(t *testing.T) {
		for _, path := range []string{"/p/00000000000000000000000000000000/cfg000B82112233", "/cfg000b82112233.xml", "/p/", "/p/x/../cfg.xml"} {
			res, err := http.Get(d.base + path)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 404 || bytes.Contains(b, []byte("000B82")) {
				t.Errorf("GET %s: %d %q", path, res.StatusCode, b)
			}
		}
	})
	t.Run("button", func(t *testing.T) {
		if code := d.api(t, "POST", "/api/button", `{"hold_ms":0}`, nil); code != 202 {
			t.Errorf("press: %d", code)
		}
	})
	t.Run("status", func(t *testing.T) {
		var st map[string]any
		d.api(t, "GET", "/api/status", "", &st)
		for _, k := range []string{"version", "uptime_s", "interface", "addresses", "multicast_joined", "led", "counts"} {
			if _, ok := st[k]; !ok {
				t.Errorf("/api/status has no %q: %v", k, st)
			}
		}
		waitFor(t, "LED pending", func() bool { d.api(t, "GET", "/api/status", "", &st); return st["led"] == "pending" })
	})
}

// TestLoginThrottled: five wrong passwords lock the address out for a
// while, and a locked-out client cannot even try the right one.
func TestLoginThrottled(t *testing.T) {
	d := startDaemon(t)
	try := func(pw string) int {
		return apiclient.New(d.base, pw).Fetch(t, "GET", "/api/status", "", nil).Code
	}
	for i := range 5 {
		if code := try(fmt.Sprintf("wrong-%d", i)); code != 401 {
			t.Fatalf("attempt %d: %d", i, code)
		}
	}
	if code := try(testPassword); code != 429 {
		t.Errorf("right password after 5 failures: %d, want 429", code)
	}
}

// TestRestartKeepsState: what was acknowledged is there after a restart.
func TestRestartKeepsState(t *testing.T) {
	d := startDaemon(t)
	if code := d.api(t, "PUT", "/api/phones/000B82112233/assignment", `{"extension":"201","password":"pw-201-secret"}`, nil); code != 200 {
		t.Fatal(code)
	}
	d.stop(t)
	d2 := startDaemon(t, "-data", d.data)
	var p map[string]any
	if code := d2.api(t, "GET", "/api/phones/000B82112233", "", &p); code != 200 || p["state"] != "assigned" {
		t.Errorf("after restart: %d %v", code, p)
	}
	if _, err := os.Stat(filepath.Join(d.data, "phones.db")); err != nil {
		t.Error(err)
	}
}

// needTool finds an external program, failing in CI (where .ci/run
// installs it) and skipping elsewhere.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not installed (CI must install it): %v", name, err)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

// TestSippPeer: a real third-party SIP stack (SIPp) sends the vendor's
// SUBSCRIBE and checks the 200 and the NOTIFY (scripts/sipp/pnp_subscribe.xml).
func TestSippPeer(t *testing.T) {
	sipp := needTool(t, "sipp")
	d := startDaemon(t)
	d.api(t, "PUT", "/api/settings", `{"provision_mode":"auto","sip_server":"pbx.example.net"}`, nil)
	if code := d.api(t, "PUT", "/api/phones/000B82273B89/assignment", `{"extension":"201","password":"pw-201-secret"}`, nil); code != 200 {
		t.Fatal(code)
	}
	dir := t.TempDir()
	cmd := exec.Command(sipp, "-sf", "../../scripts/sipp/pnp_subscribe.xml", "-inf", "../../scripts/sipp/macs.csv",
		"-m", "1", "-t", "u1", "-i", "127.0.0.7", "-p", "5062", "-timeout", "30s", "-timeout_error",
		"-trace_err", "-trace_msg", "-message_file", filepath.Join(dir, "msgs.log"), "-error_file", filepath.Join(dir, "err.log"),
		"-nostdin", fmt.Sprintf("127.0.0.1:%d", d.sipPort))
	out, err := cmd.CombinedOutput()
	msgs, _ := os.ReadFile(filepath.Join(dir, "msgs.log"))
	errs, _ := os.ReadFile(filepath.Join(dir, "err.log"))
	if err != nil {
		t.Fatalf("sipp: %v\n%s\nerrors:\n%s\nmessages:\n%s", err, lastLines(out, 20), errs, msgs)
	}
	t.Logf("sipp exchange:\n%s", msgs)
	var p map[string]any
	waitFor(t, "NOTIFY outcome recorded", func() bool {
		d.api(t, "GET", "/api/phones/000B82273B89", "", &p)
		n, _ := p["notify"].(map[string]any)
		return n != nil && n["result"] == "ok"
	})
	if p["state"] != "notified" || p["vendor"] != "Grandstream" || p["ip"] != "127.0.0.7" {
		t.Errorf("phone after the sipp exchange: %v", p)
	}
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
