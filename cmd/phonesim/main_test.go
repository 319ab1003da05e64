package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/pnpbox/pnpbox/appliance"
)

// boxArgs are the flags of a loopback fleet of n phones against b.
func boxArgs(b *fakeBox, firstIP string, n int, extra ...string) []string {
	return append([]string{"-target", b.addr().String(), "-first-ip", firstIP, "-port", "0",
		"-n", strconv.Itoa(n), "-reboot", "20ms", "-linger", "300ms", "-seed", "1", "-timeout", "30s"}, extra...)
}

func runJSON(t *testing.T, args ...string) *Report {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), append(args, "-json"), &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, &stderr)
	}
	var rep Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, &stdout)
	}
	return &rep
}

// wantPhone is phone i of a fleet starting at firstIP that went well.
func wantPhone(b *fakeBox, firstIP string, i int) Result {
	ip := netip.MustParseAddr(firstIP)
	for range i {
		ip = ip.Next()
	}
	a := ip.As4()
	mac := appliance.MAC{0x00, 0x0b, 0x82, a[1], a[2], a[3]}
	return Result{
		MAC: mac, Model: []string{"GXP2130", "GXP2140", "GXP2160"}[i%3], Firmware: "1.0.11.3", IP: ip,
		SubscribeTries: 1, SubscribeStatus: 200, Got200: true, Got200Try: 1,
		Notify: true, NotifyStatus: 200, URL: b.srv.URL + "/p/tok/cfg" + mac.String(),
		FirstDownloadOK: true, ConfigURL: "http://" + b.provPath() + "/cfg" + mac.Lower() + ".xml",
		RebootSubscribeTries: 1, RebootGot200: true, SecondDownloadOK: true, Identical: true,
		Provisioned: true,
	}
}

var ignoreTimes = cmp.Options{
	cmpopts.IgnoreFields(Result{}, "SIPPort", "Got200Ms", "Got200Us", "NotifyMs"),
	cmpopts.EquateComparable(netip.Addr{}),
}

func TestRunProvisions(t *testing.T) {
	b := newFakeBox(t)
	b.notify = true
	b.start()
	const firstIP, n = "127.0.0.20", 3

	rep := runJSON(t, boxArgs(b, firstIP, n)...)

	var want []Result
	for i := range n {
		want = append(want, wantPhone(b, firstIP, i))
	}
	if diff := cmp.Diff(want, rep.Phones, ignoreTimes); diff != "" {
		t.Errorf("phones (-want +got):\n%s", diff)
	}
	if rep.Provisioned != n || rep.Total != n || rep.Ended != endDone || rep.Seed != 1 {
		t.Errorf("report: %d/%d provisioned, ended %q, seed %d; want %d/%d, done, 1",
			rep.Provisioned, rep.Total, rep.Ended, rep.Seed, n, n)
	}
	for _, p := range rep.Phones {
		if p.Got200Ms == nil || p.Got200Us == nil || p.NotifyMs == nil {
			t.Errorf("%s: got_200_ms %v, got_200_us %v, notify_ms %v; want all", p.MAC, p.Got200Ms, p.Got200Us, p.NotifyMs)
		}
	}

	// On the wire: every SUBSCRIBE (two boots per phone) has the captured
	// header order, comes from its Contact, and each boot has a new Call-ID.
	wantNames := headerNames(capture(t))
	callIDs := make(map[string]int)
	for range 2 * n {
		s := next(t, b.subscribes, "SUBSCRIBE")
		if diff := cmp.Diff(wantNames, headerNames(s.raw)); diff != "" {
			t.Errorf("SUBSCRIBE header names (-capture +got):\n%s\n%s", diff, s.raw)
		}
		if c := contactOf(t, s.req); c != s.src {
			t.Errorf("SUBSCRIBE from %s has Contact %s", s.src, c)
		}
		model := strings.TrimPrefix(s.req.GetHeader("User-Agent").Value(), "Grandstream ")
		model, _, _ = strings.Cut(model, " ")
		wantEvent := fmt.Sprintf(`ua-profile;profile-type="device";vendor="Grandstream";model="%s";version="1.0.11.3"`, model)
		if got := s.req.GetHeader("Event").Value(); got != wantEvent {
			t.Errorf("Event %q, want %q", got, wantEvent)
		}
		callIDs[s.req.CallID().Value()]++
	}
	if len(callIDs) != 2*n {
		t.Errorf("%d SUBSCRIBEs with %d Call-IDs, want a new one per boot: %v", 2*n, len(callIDs), callIDs)
	}

	// Downloads come from the phone's own address with its User-Agent.
	byIP := make(map[netip.Addr]Result)
	for _, p := range rep.Phones {
		byIP[p.IP] = p
	}
	for range 2 * n {
		d := next(t, b.downloads, "download")
		p, ok := byIP[d.remote]
		if !ok {
			t.Errorf("download of %s from %s, not a phone's address", d.path, d.remote)
			continue
		}
		if want := fmt.Sprintf("Grandstream Model HW %s SW 1.0.11.3 DevId %s", p.Model, p.MAC.Lower()); d.userAgent != want {
			t.Errorf("User-Agent %q, want %q", d.userAgent, want)
		}
	}
}

func TestRunSecondDownloadChanged(t *testing.T) {
	b := newFakeBox(t)
	b.notify = true
	b.config = func(mac string, n int) string {
		c := configFor(mac, b.provPath())
		if n > 1 {
			c = strings.Replace(c, "Reception", "Lobby", 1)
		}
		return c
	}
	b.start()

	rep := runJSON(t, boxArgs(b, "127.0.0.30", 1)...)

	want := wantPhone(b, "127.0.0.30", 0)
	want.Identical, want.Provisioned = false, false
	mac := want.MAC.Lower()
	want.Error = fmt.Sprintf("second download differs from the first (%d bytes, then %d)",
		len(b.config(mac, 1)), len(b.config(mac, 2)))
	if diff := cmp.Diff([]Result{want}, rep.Phones, ignoreTimes); diff != "" {
		t.Errorf("phones (-want +got):\n%s", diff)
	}
	if rep.Provisioned != 0 {
		t.Errorf("%d provisioned, want 0", rep.Provisioned)
	}
}

func TestRunExtraNotify(t *testing.T) {
	b := newFakeBox(t)
	b.notify, b.notifyAgain = true, true
	b.start()

	rep := runJSON(t, boxArgs(b, "127.0.0.40", 1)...)

	want := wantPhone(b, "127.0.0.40", 0)
	want.ExtraNotifies, want.Provisioned = 1, false
	want.Error = "1 extra NOTIFY (after the one acted on, or after giving up)"
	if diff := cmp.Diff([]Result{want}, rep.Phones, ignoreTimes); diff != "" {
		t.Errorf("phones (-want +got):\n%s", diff)
	}
	// The phone answered the unwanted NOTIFY properly all the same.
	for range 2 {
		if res := next(t, b.notifyRes, "answer to a NOTIFY"); res.StatusCode != 200 {
			t.Errorf("NOTIFY answered %d, want 200", res.StatusCode)
		}
	}
}

// Sent a folder URL, the phone looks for the names a GXP21xx asks for.
func TestRunFolderURL(t *testing.T) {
	b := newFakeBox(t)
	b.notify, b.folderURL = true, true
	b.start()

	rep := runJSON(t, boxArgs(b, "127.0.0.50", 1)...)

	want := wantPhone(b, "127.0.0.50", 0)
	want.URL = b.srv.URL + "/p/tok/"
	if diff := cmp.Diff([]Result{want}, rep.Phones, ignoreTimes); diff != "" {
		t.Errorf("phones (-want +got):\n%s", diff)
	}
	if d := next(t, b.downloads, "download"); d.path != "/p/tok/cfg"+want.MAC.Lower() {
		t.Errorf("first request %s, want /p/tok/cfg%s", d.path, want.MAC.Lower())
	}
}

// A box that answers but never notifies: at -timeout the phone reports
// "no NOTIFY", the report is printed and the run is not an error.
func TestRunNoNotify(t *testing.T) {
	b := newFakeBox(t)
	b.start()
	var stdout, stderr bytes.Buffer

	err := run(t.Context(), boxArgs(b, "127.0.0.60", 1, "-timeout", "1s"), &stdout, &stderr)

	if err != nil {
		t.Fatalf("run: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if last := lines[len(lines)-1]; last != "phonesim: 0/1 phones provisioned" {
		t.Errorf("last line %q, want the summary", last)
	}
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "MAC ") || !strings.HasSuffix(lines[1], " no NOTIFY") {
		t.Errorf("report:\n%s\nwant a header, the phone with result \"no NOTIFY\", and the summary", &stdout)
	}
	if !strings.Contains(stderr.String(), "timeout before every phone was done") {
		t.Errorf("stderr %q does not say the run timed out", &stderr)
	}
}

func TestRunSetupErrors(t *testing.T) {
	b := newFakeBox(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no first-ip", []string{"-n", "2"}, "-first-ip is required"},
		{"IPv6 first-ip", []string{"-first-ip", "::1"}, "want an IPv4 address"},
		{"no phones", []string{"-first-ip", "127.0.0.2", "-n", "0"}, "want at least 1"},
		{"past the last address", []string{"-first-ip", "255.255.255.250", "-n", "7"}, "runs past"},
		{"out of MACs", []string{"-first-ip", "127.0.0.2", "-first-mac", "000B82FFFFFE", "-n", "3"}, "runs out of the 000B82 OUI"},
		{"bad MAC", []string{"-first-ip", "127.0.0.2", "-first-mac", "010B82000001"}, "group (multicast) address"},
		{"bad target", []string{"-first-ip", "127.0.0.2", "-target", "box:5060"}, "-target"},
		{"loss over 1", []string{"-first-ip", "127.0.0.2", "-loss", "1.5"}, "-loss"},
		{"address not on this host", []string{"-first-ip", "192.0.2.1", "-target", b.addr().String()}, "assign requested address"},
		{"multicast from an address on no interface", []string{"-first-ip", "192.0.2.1"}, "no interface has 192.0.2.1"},
		{"no such interface", []string{"-first-ip", "127.0.0.2", "-iface", "nosuch0"}, "-iface"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), tc.args, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("run error %v, want one containing %q", err, tc.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("printed a report after a setup error:\n%s", &stdout)
			}
		})
	}
}

func TestOptionsAddresses(t *testing.T) {
	o, err := parseFlags([]string{"-first-ip", "198.18.0.254", "-n", "3"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := range o.n {
		got = append(got, o.ip(i).String()+" "+o.mac(i).String())
	}
	want := []string{"198.18.0.254 000B821200FE", "198.18.0.255 000B821200FF", "198.18.1.0 000B82120100"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("phone addresses (-want +got):\n%s", diff)
	}
}

// A fleet of 500 works within one process's limits: 500 UDP sockets and
// one HTTP connection at a time per phone. The boots are spread over 2s, as
// 500 phones booting in the same millisecond, all retrying in step, overflow
// the fake box's socket on a loaded machine.
func TestRunFleet500(t *testing.T) {
	if testing.Short() {
		t.Skip("500 phones")
	}
	b := newFakeBox(t)
	b.notify = true
	b.start()

	rep := runJSON(t, boxArgs(b, "127.0.1.0", 500, "-spread", "2s", "-timeout", "90s")...)

	if rep.Provisioned != 500 {
		for _, p := range rep.Phones {
			if !p.Provisioned {
				t.Errorf("%s: %s", p.MAC, p.Error)
			}
		}
		t.Fatalf("%d/500 provisioned", rep.Provisioned)
	}
}

// The exit status gates a script the way SIPp's does: 0 only when every
// phone reached the -expect outcome.
func TestExitStatus(t *testing.T) {
	notifying := newFakeBox(t)
	notifying.notify = true
	notifying.start()
	silent := newFakeBox(t) // answers SUBSCRIBEs, never sends a NOTIFY
	silent.start()
	for _, tc := range []struct {
		name       string
		args       []string
		want       int
		wantOut    string // in stdout
		wantStderr string // in stderr
	}{
		{"every phone provisioned", boxArgs(notifying, "127.0.0.70", 2), exitOK, "phonesim: 2/2 phones provisioned", ""},
		{"no NOTIFY", boxArgs(silent, "127.0.0.72", 1, "-timeout", "1s"), exitShort, "phonesim: 0/1 phones provisioned", "0/1 phones provisioned, want all"},
		{"no NOTIFY, notified expected", boxArgs(silent, "127.0.0.73", 1, "-timeout", "1s", "-expect", "notified"), exitShort, "", "0/1 phones notified, want all"},
		{"no NOTIFY, only answers expected", boxArgs(silent, "127.0.0.74", 1, "-timeout", "1s", "-expect", "answered"), exitOK, "phonesim: 0/1 phones provisioned", ""},
		{"no NOTIFY, nothing expected", boxArgs(silent, "127.0.0.75", 1, "-timeout", "1s", "-expect", "none"), exitOK, "phonesim: 0/1 phones provisioned", ""},
		{"unknown outcome", []string{"-first-ip", "127.0.0.2", "-expect", "sometimes"}, exitUsage, "", "-expect \"sometimes\""},
		{"unknown flag", []string{"-first-ip", "127.0.0.2", "-nosuch"}, exitUsage, "", "flag provided but not defined: -nosuch"},
		{"missing flag", nil, exitUsage, "", "-first-ip is required"},
		{"address not on this host", []string{"-first-ip", "192.0.2.1", "-target", silent.addr().String()}, exitSetup, "", "assign requested address"},
		{"help", []string{"-h"}, exitOK, "", "Usage: phonesim"},
		{"version", []string{"-version"}, exitOK, "phonesim dev ", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			got := cli(t.Context(), tc.args, &stdout, &stderr)
			if got != tc.want {
				t.Errorf("exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", got, tc.want, &stdout, &stderr)
			}
			if !strings.Contains(stdout.String(), tc.wantOut) {
				t.Errorf("stdout does not contain %q:\n%s", tc.wantOut, &stdout)
			}
			if !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("stderr does not contain %q:\n%s", tc.wantStderr, &stderr)
			}
		})
	}
}
