//go:build linux

package netnstest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netns"
)

// Require skips the test unless it can build namespaces (root, iproute2)
// and the named programs are installed; with CI set it fails instead.
func Require(t testing.TB, programs ...string) {
	t.Helper()
	miss := func(format string, a ...any) {
		t.Helper()
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must provide this: "+format, a...)
		}
		t.Skipf(format, a...)
	}
	if os.Geteuid() != 0 {
		miss("network namespace tests need root")
	}
	for _, p := range append([]string{"ip"}, programs...) {
		if _, err := exec.LookPath(p); err != nil {
			miss("%s is not installed: %v", p, err)
		}
	}
}

var seq atomic.Int64

// NS is a named network namespace.
type NS struct {
	Name string
}

// New creates a namespace named prefix-PID-N, its loopback up, and
// deletes it when the test ends. Namespaces left by a test process that
// was killed (prefix-PID-N with PID gone) are deleted first.
func New(t testing.TB, prefix string) *NS {
	t.Helper()
	removeStale(prefix)
	ns := &NS{Name: fmt.Sprintf("%s-%d-%d", prefix, os.Getpid(), seq.Add(1))}
	if out, err := exec.Command("ip", "netns", "add", ns.Name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", ns.Name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", ns.Name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", ns.Name, err, out)
		}
	})
	ns.IP(t, "link", "set", "lo", "up")
	return ns
}

func removeStale(prefix string) {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(prefix) + `-(\d+)-\d+$`)
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		m := re.FindStringSubmatch(f[0])
		if m == nil {
			continue
		}
		if pid, _ := strconv.Atoi(m[1]); pid != os.Getpid() && syscall.Kill(pid, 0) == syscall.ESRCH {
			exec.Command("ip", "netns", "del", f[0]).Run()
		}
	}
}

// IP runs `ip -n NS args…`, failing the test on error, and returns its
// output.
func (ns *NS) IP(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"-n", ns.Name}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip -n %s %s: %v: %s", ns.Name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Command returns a command that runs program inside the namespace.
func (ns *NS) Command(program string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", ns.Name, program}, args...)...)
}

// ReadFile reads a file as a process inside the namespace sees it
// (/proc/net/igmp, say).
func (ns *NS) ReadFile(t testing.TB, path string) string {
	t.Helper()
	out, err := ns.Command("cat", path).Output()
	if err != nil {
		t.Fatalf("read %s in %s: %v", path, ns.Name, err)
	}
	return string(out)
}

// Do runs fn on an OS thread switched into the namespace. Sockets fn
// opens stay in the namespace afterwards, whatever thread uses them.
func Do[T any](ns *NS, fn func() (T, error)) (T, error) {
	var zero T
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		// The thread is never unlocked: if switching back failed it
		// would carry the namespace to other goroutines, so it exits
		// with this goroutine instead.
		runtime.LockOSThread()
		h, err := netns.GetFromName(ns.Name)
		if err != nil {
			ch <- result{err: fmt.Errorf("netns %s: %w", ns.Name, err)}
			return
		}
		defer h.Close()
		if err := netns.Set(h); err != nil {
			ch <- result{err: fmt.Errorf("enter netns %s: %w", ns.Name, err)}
			return
		}
		v, err := fn()
		ch <- result{v, err}
	}()
	r := <-ch
	if r.err != nil {
		return zero, r.err
	}
	return r.v, nil
}

// HTTPClient returns a client whose connections are opened inside the
// namespace.
func (ns *NS) HTTPClient() *http.Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return Do(ns, func() (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, network, addr)
			})
		},
		DisableKeepAlives: true,
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// Cable connects namespace a (interface aName) to b (bName) with a veth
// pair and brings both ends up.
func Cable(t testing.TB, a *NS, aName string, b *NS, bName string) {
	t.Helper()
	a.IP(t, "link", "add", aName, "type", "veth", "peer", "name", bName, "netns", b.Name)
	a.IP(t, "link", "set", aName, "up")
	b.IP(t, "link", "set", bName, "up")
}

// Start starts cmd, logging its output to the test, and kills it when the
// test ends (before the namespaces go).
func Start(t testing.TB, cmd *exec.Cmd, name string) {
	t.Helper()
	w := &logWriter{t: t, name: name}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
}

// logWriter passes a program's output to the test log, a line at a time.
type logWriter struct {
	t    testing.TB
	name string
}

func (w *logWriter) Write(b []byte) (int, error) {
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		w.t.Logf("%s: %s", w.name, l)
	}
	return len(b), nil
}
