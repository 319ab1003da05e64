//go:build linux

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/pnpbox/pnpbox/internal/testlog"

	"github.com/chromedp/chromedp"
)

// TestBrowserInstallerJourney drives Debian's chromium, headless, through
// the whole job on the installer's page, against the real pnpd and
// phonesim binaries on loopback: first boot → claim (the button held) →
// set the password → log out and in → settings → pre-stage a phone →
// simulated phones boot and appear in the open table → assign the
// other one from the table, with a second line → a CSV with one bad row
// shows its report → the fixed file is imported → "Provision all
// pending" → both phones reach provisioned on the page without a reload
// → one of them is forgotten. A screenshot of each
// step goes to a folder the test names when it fails (PNPBOX_SCREENSHOTS
// chooses it). It needs chromium: skipped without it, except in CI,
// where it fails.
func TestBrowserInstallerJourney(t *testing.T) {
	chrome := requireChromium(t)
	if bins.err != nil {
		t.Fatal(bins.err)
	}
	shots := screenshotDir(t)
	box := startLoopbackBox(t)
	b := newBrowser(t, chrome, shots)

	const (
		password = "browser-admin-pw-1"
		macA     = "000B8200A001" // pre-staged, then boots
		macB     = "000B8200A002" // boots unknown, assigned from the table
		macC     = "000B8200A003" // in the CSV, never boots
	)

	b.step("01-first-boot",
		chromedp.Navigate(box.base+"/"),
		waitText("this box has no admin password yet"),
		waitText("Hold the box's button for 5 seconds"))

	// The long press: SIGUSR2 holds the simulated button for 5 s. A
	// signal that arrives before pnpd listens for it is lost, so the
	// press is repeated until the page offers the form.
	press := func() error { return box.cmd.Process.Signal(syscall.SIGUSR2) }
	b.step("02-claim-mode", reloadUntil("#new", 60*time.Second, 10*time.Second, press), waitText("Claim mode is open"))
	b.step("03-password-set",
		chromedp.SendKeys(chromedp.CSS("#new"), password),
		chromedp.SendKeys(chromedp.CSS("#again"), password),
		chromedp.Submit(chromedp.CSS("#new")),
		waitText("Provision all pending (0)"))
	b.step("04-logged-out",
		chromedp.Click(chromedp.CSS("header nav button.link")),
		chromedp.WaitVisible(chromedp.CSS("#pw")))
	b.step("05-logged-in",
		chromedp.SendKeys(chromedp.CSS("#pw"), password),
		chromedp.Submit(chromedp.CSS("#pw")),
		waitText("No phones yet"))
	b.step("06-settings",
		chromedp.Navigate(box.base+"/settings"),
		chromedp.SendKeys(chromedp.CSS("#f-sip_server"), "pbx.example.net"),
		chromedp.Submit(chromedp.CSS("#f-sip_server")),
		waitText("Settings saved"))
	b.step("07-add-form",
		chromedp.Navigate(box.base+"/add"),
		chromedp.SendKeys(chromedp.CSS("#mac"), "00:0b:82:00:a0:01"),
		chromedp.SetValue(chromedp.CSS("#model"), "GXP2160"),
		chromedp.SendKeys(chromedp.CSS("#ext"), "201"),
		chromedp.SendKeys(chromedp.CSS("#pw"), "sip-secret-201"),
		chromedp.SendKeys(chromedp.CSS("#dn"), "Reception"),
		chromedp.SendKeys(chromedp.CSS(`input[name=key_value_0]`), "202"),
		chromedp.SetValue(chromedp.CSS(`select[name=key_type_0]`), "blf"))
	b.step("07-pre-staged",
		chromedp.Click(chromedp.CSS(`.actions button[value=save]`)),
		waitText("Saved: extension 201 for "+macA))

	// The table is open, then the phones boot: they appear without a
	// reload (the marker set on the page survives only if it is not
	// reloaded).
	b.step("08-table-open", chromedp.Navigate(box.base+"/"), waitText("1 of 1 phones"), markPage())
	sim := box.startPhones(t, 2, macA)
	b.step("09-phones-booted",
		waitText(macB, 60*time.Second), waitTextIn("#m"+macA, "assigned"), waitTextIn("#m"+macB, "discovered"), notReloaded())

	b.step("10-assign-from-table",
		chromedp.Click(chromedp.CSS(`#m`+macB+` a[href$="/edit"]`)), // "assign" in its row
		waitText("Assignment for "+macB),
		chromedp.SendKeys(chromedp.CSS("#ext"), "202"),
		chromedp.Click(chromedp.CSS("button.gen")), // a password made in the browser
		chromedp.SendKeys(chromedp.CSS("#dn"), "Office"),
		chromedp.SendKeys(chromedp.CSS(`input[name=acc_ext_0]`), "212"), // a second line
		chromedp.SendKeys(chromedp.CSS(`input[name=acc_pw_0]`), "sip-secret-212"),
		chromedp.SendKeys(chromedp.CSS(`input[name=acc_dn_0]`), "Office line 2"),
		chromedp.Click(chromedp.CSS(`.actions button[value=save]`)),
		waitText("Saved: extension 202 for "+macB), waitText("2. 212 (Office line 2)"))

	dir := t.TempDir()
	bad := filepath.Join(dir, "site.csv")
	os.WriteFile(bad, []byte("mac,extension,password,display_name\n"+
		macA+",201,,Front desk\n"+macC+",20 3,sip-secret-203,Store room\n"), 0o644)
	b.step("11-csv-bad-row",
		chromedp.Navigate(box.base+"/csv"),
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{bad}),
		chromedp.Submit(chromedp.CSS("#file")),
		waitText("1 bad row"), waitTextIn(".report table", macC), waitTextIn(".report table", "extension"))
	good := filepath.Join(dir, "site-fixed.csv")
	os.WriteFile(good, []byte("mac,extension,password,display_name\n"+
		macA+",201,,Front desk\n"+macC+",203,sip-secret-203,Store room\n"), 0o644)
	b.step("12-csv-dry-run",
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{good}),
		chromedp.Submit(chromedp.CSS("#file")),
		waitText("the file is good"), waitText("1 new, 1 changed"))
	b.step("13-csv-imported",
		chromedp.Click(chromedp.CSS(`form[action="/csv/import"] button`)),
		waitText("site-fixed.csv: imported"))

	b.step("14-provision-all",
		chromedp.Navigate(box.base+"/"),
		waitText("Provision all pending (3)"),
		chromedp.Click(chromedp.CSS("#provision-all")),
		waitText("2 notified, 1 skipped"), waitTextIn(".result table", macC), markPage())
	b.step("15-all-provisioned",
		waitTextIn("#m"+macA, "provisioned", 90*time.Second), waitTextIn("#m"+macB, "provisioned", 90*time.Second), notReloaded())

	b.shot("16-desktop")
	b.step("17-box", chromedp.Navigate(box.base+"/box"), waitText("loopback: unicast only"), waitText("provisioned"))
	b.step("18-narrow", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile), chromedp.Navigate(box.base+"/"), waitText(macA))
	b.step("19-narrow-phone", chromedp.Navigate(box.base+"/phones/"+macA), waitText("Timeline"))
	if sim.wait(t, 60*time.Second) != nil {
		t.Errorf("phonesim: %s", sim.output())
	}
	// The phone that came from the table is taken away: forgotten, it
	// leaves the table (and would come back as new if it booted again).
	b.step("20-forget",
		chromedp.Navigate(box.base+"/phones/"+macB),
		chromedp.Click(chromedp.CSS(`form[action$="/forget-phone"] button`)),
		waitText("Forgot "+macB), waitText("2 of 2 phones"))
}

// requireChromium returns chromium's path; without it the test skips,
// or fails in CI.
func requireChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("CHROMIUM"), "chromium", "chromium-browser"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed (apt-get install chromium); the browser test must run in CI")
	}
	t.Skip("chromium is not installed (apt-get install chromium)")
	return ""
}

// screenshotDir is where the step screenshots go: $PNPBOX_SCREENSHOTS, or
// a new temporary folder, removed when the test passes.
func screenshotDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("PNPBOX_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	d, err := os.MkdirTemp("", "pnpbox-browser-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("screenshots of each step: %s", d)
			return
		}
		os.RemoveAll(d)
	})
	return d
}

// browser is one headless chromium tab.
type browser struct {
	t     *testing.T
	ctx   context.Context
	shots string
}

func newBrowser(t *testing.T, path, shots string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return &browser{t: t, ctx: ctx, shots: shots}
}

// step runs actions (30 s unless an action says longer), then takes a
// screenshot named for the step; a failed step names the folder.
func (b *browser) step(name string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Minute)
	defer cancel()
	err := chromedp.Do(ctx, actions...)
	b.shot(name)
	if err != nil {
		loc, _ := chromedp.Run(b.ctx, chromedp.Location())
		text, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
		b.t.Fatalf("step %s: %v\nat %s; the page says:\n%s\nscreenshots: %s", name, err, loc, text, b.shots)
	}
}

// shot writes a PNG of the viewport.
func (b *browser) shot(name string) {
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644)
}

// waitText waits until the page shows s (30 s, or the time given).
func waitText(s string, within ...time.Duration) chromedp.Action[chromedp.Void] {
	return waitTextIn("body", s, within...)
}

// waitTextIn waits until the element sel exists and its text holds s.
func waitTextIn(sel, s string, within ...time.Duration) chromedp.Action[chromedp.Void] {
	d := 30 * time.Second
	if len(within) > 0 {
		d = within[0]
	}
	expr := fmt.Sprintf(`(() => { const e = document.querySelector(%s); return !!e && e.innerText.includes(%s); })()`, jsString(sel), jsString(s))
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		// A loop of evaluations rather than one in-page poll: the
		// page may navigate (a form posts) while we wait.
		deadline := time.Now().Add(d)
		for {
			ok, err := chromedp.Evaluate[bool](expr)(ctx, t)
			if err == nil && ok {
				return chromedp.Void{}, nil
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return chromedp.Void{}, fmt.Errorf("%q did not appear in %s within %v (last error: %v)", s, sel, d, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// jsString writes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// reloadUntil reloads the page until sel exists, calling nudge first and
// then every `every` (the box's button, pressed again).
func reloadUntil(sel string, within, every time.Duration, nudge func() error) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		deadline := time.Now().Add(within)
		var nudged time.Time
		for {
			if time.Since(nudged) >= every {
				if err := nudge(); err != nil {
					return chromedp.Void{}, err
				}
				nudged = time.Now()
			}
			time.Sleep(500 * time.Millisecond)
			if _, err := chromedp.Reload()(ctx, t); err != nil {
				return chromedp.Void{}, err
			}
			ok, err := chromedp.Evaluate[bool](fmt.Sprintf(`!!document.querySelector(%q)`, sel))(ctx, t)
			if err == nil && ok {
				return chromedp.Void{}, nil
			}
			if time.Now().After(deadline) {
				return chromedp.Void{}, fmt.Errorf("%s did not appear within %v", sel, within)
			}
		}
	}
}

// markPage sets a marker that a reload would lose; notReloaded checks it.
func markPage() chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Evaluate[bool](`window.pnpboxNoReload = true`)(ctx, t)
		return chromedp.Void{}, err
	}
}

func notReloaded() chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		ok, err := chromedp.Evaluate[bool](`window.pnpboxNoReload === true`)(ctx, t)
		if err == nil && !ok {
			err = fmt.Errorf("the page was reloaded")
		}
		return chromedp.Void{}, err
	}
}

// loopbackBox is pnpd on loopback with the simulated board and no admin
// password (first boot).
type loopbackBox struct {
	cmd     *exec.Cmd
	base    string
	sipPort string
	log     *testlog.Buffer
}

var readyRE = regexp.MustCompile(`msg=ready .*http=(\S+) sip_port=(\d+)`)

func startLoopbackBox(t *testing.T) *loopbackBox {
	t.Helper()
	b := &loopbackBox{log: &testlog.Buffer{}}
	b.cmd = exec.Command(bins.pnpd, "-iface", "lo", "-board", "sim", "-data", t.TempDir(),
		"-http", "127.0.0.1:0", "-sip-port", "0")
	pr, pw := io.Pipe()
	b.cmd.Stdout, b.cmd.Stderr = b.log, pw
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { b.cmd.Wait(); pw.Close(); close(done) }()
	t.Cleanup(func() {
		b.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			b.cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("pnpd:\n%s", b.log.String())
		}
	})
	ready := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			b.log.Write([]byte(sc.Text() + "\n"))
			if m := readyRE.FindStringSubmatch(sc.Text()); m != nil {
				ready <- m
			}
		}
		io.Copy(io.Discard, pr)
	}()
	select {
	case m := <-ready:
		b.base, b.sipPort = "http://"+m[1], m[2]
	case <-done:
		t.Fatalf("pnpd exited before ready:\n%s", b.log.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("pnpd not ready after 30 s:\n%s", b.log.String())
	}
	return b
}

// simRun is phonesim running.
type simRun struct {
	cmd  *exec.Cmd
	out  *testlog.Buffer
	done chan error
}

// startPhones boots n simulated phones on 127.0.0.2… that send their
// SUBSCRIBEs to the box's unicast address.
func (b *loopbackBox) startPhones(t *testing.T, n int, firstMAC string) *simRun {
	t.Helper()
	s := &simRun{out: &testlog.Buffer{}, done: make(chan error, 1)}
	s.cmd = exec.Command(bins.phonesim, "-n", fmt.Sprint(n), "-first-ip", "127.0.0.2", "-port", "0",
		"-target", "127.0.0.1:"+b.sipPort, "-first-mac", firstMAC, "-models", "GXP2160,GXP2130",
		"-reboot", "2s", "-timeout", "5m")
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() {
		s.cmd.Process.Kill()
		if t.Failed() {
			t.Logf("phonesim:\n%s", s.out.String())
		}
	})
	return s
}

// wait waits for phonesim to exit (it does once every phone is
// provisioned) and returns its error.
func (s *simRun) wait(t *testing.T, d time.Duration) error {
	select {
	case err := <-s.done:
		return err
	case <-time.After(d):
		return fmt.Errorf("phonesim still running after %v", d)
	}
}

func (s *simRun) output() string { return s.out.String() }
