package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// bins holds the binaries under test, built once by TestMain.
var bins struct {
	dir      string
	pnpd     string
	phonesim string
	err      error
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pnpbox-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bins.dir = dir
	bins.pnpd = filepath.Join(dir, "pnpd")
	bins.phonesim = filepath.Join(dir, "phonesim")
	for out, pkg := range map[string]string{bins.pnpd: "../cmd/pnpd", bins.phonesim: "../cmd/phonesim"} {
		cmd := exec.Command("go", "build", "-o", out, pkg)
		if b, err := cmd.CombinedOutput(); err != nil {
			bins.err = fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// requireRoot skips unless root, and fails instead in CI, where these
// tests must run.
func requireRoot(t *testing.T) {
	t.Helper()
	if bins.err != nil {
		t.Fatal(bins.err)
	}
	if os.Geteuid() == 0 {
		if _, err := exec.LookPath("ip"); err == nil {
			return
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("end-to-end tests need root and iproute2; CI runs as root, so this must not be skipped")
	}
	t.Skip("needs root (network namespaces)")
}

// lan is two network namespaces joined by a veth pair: "box" (pnpd) and
// "phones" (phonesim), each side's interface named lan0, on 198.18.0.0/24.
type lan struct {
	box, phones string // namespace names
}

// boxAddr is pnpd's address on the LAN.
const boxAddr = "198.18.0.1"

func run(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// newLAN creates the namespaces and deletes them when the test ends, even
// on failure. phoneAddrs extra addresses 198.18.0.100… are added on the
// phones' side for a fleet.
func newLAN(t *testing.T, phoneAddrs int) *lan {
	t.Helper()
	id := make([]byte, 3)
	rand.Read(id)
	suffix := hex.EncodeToString(id)
	l := &lan{box: "pnpbox-e2e-box-" + suffix, phones: "pnpbox-e2e-ph-" + suffix}
	t.Cleanup(func() {
		exec.Command("ip", "netns", "del", l.box).Run()
		exec.Command("ip", "netns", "del", l.phones).Run()
	})
	run(t, "ip", "netns", "add", l.box)
	run(t, "ip", "netns", "add", l.phones)
	run(t, "ip", "-n", l.box, "link", "add", "lan0", "type", "veth", "peer", "name", "lan0", "netns", l.phones)
	for _, ns := range []string{l.box, l.phones} {
		run(t, "ip", "-n", ns, "link", "set", "lo", "up")
		run(t, "ip", "-n", ns, "link", "set", "lan0", "up")
	}
	run(t, "ip", "-n", l.box, "addr", "add", boxAddr+"/24", "dev", "lan0")
	run(t, "ip", "-n", l.phones, "addr", "add", "198.18.0.2/24", "dev", "lan0")
	// Many addresses at once through ip -batch: one exec, not fifty.
	var batch bytes.Buffer
	for i := range phoneAddrs {
		fmt.Fprintf(&batch, "addr add %s/24 dev lan0\n", phoneIP(i))
	}
	if phoneAddrs > 0 {
		cmd := exec.Command("ip", "-n", l.phones, "-batch", "-")
		cmd.Stdin = &batch
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("add phone addresses: %v\n%s", err, out)
		}
	}
	return l
}

// phoneIP is the address of phone i of a fleet.
func phoneIP(i int) string { return fmt.Sprintf("198.18.0.%d", 100+i) }

// proc is a program running in a namespace, its output kept for failures.
type proc struct {
	name string
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan error
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// start runs argv in namespace ns; the process is killed when the test ends
// and its output logged if the test failed.
func start(t *testing.T, ns, name string, argv ...string) *proc {
	t.Helper()
	p := &proc{name: name, done: make(chan error, 1)}
	p.cmd = exec.Command("ip", append([]string{"netns", "exec", ns}, argv...)...)
	p.cmd.Stdout, p.cmd.Stderr = p, p
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("--- %s output ---\n%s", name, p.output())
		}
	})
	return p
}

// signal sends sig and waits for the process to exit.
func (p *proc) stop(t *testing.T, sig os.Signal) error {
	t.Helper()
	p.cmd.Process.Signal(sig)
	select {
	case err := <-p.done:
		p.done <- err // keep it for Cleanup
		return err
	case <-time.After(60 * time.Second):
		t.Fatalf("%s did not exit within 60 s of %v", p.name, sig)
		return nil
	}
}

// client returns an HTTP client whose connections are made inside
// namespace ns (a socket stays in the namespace it was created in).
func client(t *testing.T, ns string) *http.Client {
	t.Helper()
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		var (
			c   net.Conn
			err error
		)
		done := make(chan struct{})
		go func() {
			defer close(done)
			// A thread that has changed namespace is never given back:
			// LockOSThread without Unlock makes the runtime retire it.
			runtime.LockOSThread()
			f, ferr := os.Open("/var/run/netns/" + ns)
			if ferr != nil {
				err = ferr
				return
			}
			defer f.Close()
			if err = unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
				return
			}
			var d net.Dialer
			c, err = d.DialContext(ctx, network, addr)
		}()
		<-done
		return c, err
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: dial, DisableKeepAlives: true}}
}
