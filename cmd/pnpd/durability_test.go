package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/appliance/store"
	"github.com/pnpbox/pnpbox/internal/apiclient"
	bolt "go.etcd.io/bbolt"
)

// buildPnpd builds this package's binary into a temp dir (a separate
// process is what SIGKILL needs).
func buildPnpd(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build pnpd: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "pnpd")
	out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// proc is pnpd running as its own process.
type proc struct {
	cmd  *exec.Cmd
	base string
	log  *tail
	done chan error
}

// tail keeps the last lines of a process's log for failure messages.
type tail struct {
	mu    sync.Mutex
	lines []string
}

func (l *tail) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lines = append(l.lines, s); len(l.lines) > 40 {
		l.lines = l.lines[1:]
	}
}

func (l *tail) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

var readyHTTP = regexp.MustCompile(`msg=ready .*http=(\S+)`)

// startProc starts the binary on loopback with data dir data and waits
// until it is ready.
func startProc(t *testing.T, bin, data string) *proc {
	t.Helper()
	cmd := exec.Command(bin, "-iface", "lo", "-board", "sim", "-data", data, "-http", "127.0.0.1:0", "-https", "127.0.0.1:0",
		"-sip-port", "0", "-admin-password", testPassword)
	for _, kv := range os.Environ() { // only the flags above configure it
		if !strings.HasPrefix(kv, "PNPD_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, log: &tail{}, done: make(chan error, 1)}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() { // read to the end: a full pipe would stall pnpd
			p.log.add(sc.Text())
			if m := readyHTTP.FindStringSubmatch(sc.Text()); m != nil {
				ready <- m[1]
			}
		}
		io.Copy(io.Discard, stderr)
		p.done <- cmd.Wait()
	}()
	select {
	case addr := <-ready:
		p.base = "http://" + addr
	case err := <-p.done:
		t.Fatalf("pnpd exited before ready: %v\n%s", err, p.log)
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("pnpd not ready after 30 s\n%s", p.log)
	}
	return p
}

// kill sends SIGKILL (no shutdown code runs) and waits for the process.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatal("pnpd did not die of SIGKILL within 30 s")
	}
}

// soakCycles is how many kills TestKillDurability does: SOAK_CYCLES from
// the environment (scripts/soak.sh sets 200), else 20.
func soakCycles(t *testing.T) int {
	if v := os.Getenv("SOAK_CYCLES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("SOAK_CYCLES=%q: want a count", v)
		}
		return n
	}
	if testing.Short() {
		return 5
	}
	return 20
}

// TestKillDurability kills pnpd with SIGKILL at random moments while
// clients write assignments, and after every kill checks that the
// database passes bbolt's Check and holds every write that was answered
// 2xx. SIGKILL is a process crash, not a power cut: the kernel still
// writes out what pnpd handed it. It proves pnpd acknowledges only what it
// has committed and never leaves a half-written record; bbolt's own
// dm-flakey tests cover the disk dropping unsynced writes.
func TestKillDurability(t *testing.T) {
	cycles := soakCycles(t)
	bin := buildPnpd(t)
	data := t.TempDir()
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("SOAK_SEED"); v != "" {
		seed, _ = strconv.ParseUint(v, 10, 64)
	}
	t.Logf("seed %d (set SOAK_SEED to repeat)", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	acked := map[appliance.MAC]string{} // MAC → extension, every write answered 200
	var next int                        // MACs are never reused: each write is checkable
	client := &http.Client{Timeout: 10 * time.Second}
	start := time.Now()
	for cycle := range cycles {
		p := startProc(t, bin, data)
		var mu sync.Mutex
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					mu.Lock()
					next++
					n := next
					mu.Unlock()
					m := appliance.MAC{0x02, 0, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
					ext := strconv.Itoa(1000 + n)
					body := fmt.Sprintf(`{"extension":%q,"password":"pw-%d-secret","display_name":"Soak %d"}`, ext, n, n)
					api := &apiclient.Client{Base: p.base, Password: testPassword, HTTP: client}
					res, err := api.JSON(context.Background(), "PUT", "/api/phones/"+m.String()+"/assignment", body)
					if err != nil {
						return // killed
					}
					if res.Code == 200 {
						mu.Lock()
						acked[m] = ext
						mu.Unlock()
					} else {
						t.Errorf("cycle %d: PUT %s: %d", cycle, m, res.Code)
						return
					}
				}
			}()
		}
		// Anywhere from right away to well into the stream of writes.
		time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond) // the random moment, not synchronisation
		p.kill(t)
		close(stop)
		wg.Wait()
		if err := checkDatabase(data, acked); err != nil {
			t.Fatalf("cycle %d: %v\npnpd's last lines:\n%s", cycle, err, p.log)
		}
	}
	t.Logf("%d kills in %v, %d acknowledged writes, all present", cycles, time.Since(start).Round(time.Second), len(acked))
	if len(acked) == 0 {
		t.Error("no write was acknowledged: the test tested nothing")
	}
}

// checkDatabase opens the database pnpd left behind as pnpd would (no
// recovery: damage is a failure here), runs bbolt's Check, and looks for
// every acknowledged write.
func checkDatabase(data string, acked map[appliance.MAC]string) error {
	path := filepath.Join(data, "phones.db")
	if aside, _ := filepath.Glob(path + ".corrupt-*"); len(aside) > 0 {
		return fmt.Errorf("pnpd found its database damaged at start: %v", aside)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		return fmt.Errorf("bbolt open: %w", err)
	}
	err = db.View(func(tx *bolt.Tx) error {
		var errs []error
		for e := range tx.Check() {
			errs = append(errs, e)
		}
		return errors.Join(errs...)
	})
	db.Close()
	if err != nil {
		return fmt.Errorf("bbolt check: %w", err)
	}
	s, err := store.Open(path)
	if err != nil {
		return err
	}
	defer s.Close()
	snap, err := s.Load()
	if err != nil {
		return err
	}
	for m, ext := range acked {
		a, ok := snap.Assignments[m]
		if !ok {
			return fmt.Errorf("acknowledged assignment of %s is missing", m)
		}
		if n, _ := strconv.Atoi(ext); a.Extension != ext || a.Password != fmt.Sprintf("pw-%d-secret", n-1000) {
			return fmt.Errorf("assignment of %s is %+v, want extension %s", m, a, ext)
		}
		if p, ok := snap.Phones[m]; !ok || p.State != appliance.StateAssigned {
			return fmt.Errorf("phone %s: %+v, %v (the assignment and its phone are one write)", m, p, ok)
		}
	}
	return nil
}
