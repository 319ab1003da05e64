package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The LAN: the box's namespace and the phones' namespace joined by a veth
// pair, plus a /30 from this machine to the box for the API.
const (
	boxNS, phNS = "pnpbench-box", "pnpbench-ph"
	uplink      = "pnpbench0"
	boxIP       = "198.18.0.1"
	hostSideIP  = "198.18.0.2"   // the phones' namespace's own address: "one host"
	boxAPI      = "198.19.254.2" // not make demo's 198.19.255.0/30: both may run
	httpPort    = 8080
	nginxPort   = 8081
	password    = "pnpbench-pw"
)

// Address blocks in the phones' namespace (198.18.0.0/16).
var (
	phoneBase = netip.MustParseAddr("198.18.1.1")  // phonesim and sipp phones: up to 4,000
	floodBase = netip.MustParseAddr("198.18.32.1") // spoofed flood sources: up to 1,000
)

type lan struct {
	bin  string // directory with pnpd, phonesim, lanbench
	work string
	log  io.Writer
}

// sh runs a command with a bound on its time; output goes to the log.
func (l *lan) sh(ctx context.Context, d time.Duration, name string, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

// output runs a command in ns ("" for this one) and returns its stdout.
func (l *lan) output(ctx context.Context, d time.Duration, ns string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if ns != "" {
		args = append([]string{"ip", "netns", "exec", ns}, args...)
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	fmt.Fprintf(l.log, "$ %s\n%s%s", strings.Join(args, " "), tail(out.String(), 2000), tail(errb.String(), 2000))
	if err != nil {
		return out.String(), fmt.Errorf("%s: %w: %s", args[0], err, tail(errb.String(), 300))
	}
	return out.String(), nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

func (l *lan) teardown() {
	ctx := context.Background()
	for _, ns := range []string{boxNS, phNS} {
		if pids, err := exec.Command("ip", "netns", "pids", ns).Output(); err == nil {
			for _, p := range strings.Fields(string(pids)) {
				if pid, err := strconv.Atoi(p); err == nil {
					syscall.Kill(pid, syscall.SIGTERM)
				}
			}
		}
		l.sh(ctx, 10*time.Second, "ip", "netns", "del", ns)
	}
	l.sh(ctx, 10*time.Second, "ip", "link", "del", uplink)
}

// setup builds the LAN with phones addresses for up to phones phones and
// the flood sources, and permanent neighbour entries for all of them in
// the box's namespace: the neighbour table's gc_thresh limits are not per
// namespace on Linux, and permanent entries do not count against them
// (since 4.19), so 2,000 phones fit without touching the host's sysctls.
func (l *lan) setup(ctx context.Context, phones int) error {
	l.teardown()
	steps := [][]string{
		{"ip", "netns", "add", boxNS},
		{"ip", "netns", "add", phNS},
		{"ip", "-n", boxNS, "link", "add", "lan0", "type", "veth", "peer", "name", "lan0", "netns", phNS},
		{"ip", "link", "add", uplink, "type", "veth", "peer", "name", "up0", "netns", boxNS},
		{"ip", "addr", "add", "198.19.254.1/30", "dev", uplink},
		{"ip", "link", "set", uplink, "up"},
		{"ip", "-n", boxNS, "addr", "add", boxIP + "/16", "dev", "lan0"},
		{"ip", "-n", boxNS, "addr", "add", boxAPI + "/30", "dev", "up0"},
		{"ip", "-n", boxNS, "link", "set", "up0", "up"},
		{"ip", "-n", phNS, "addr", "add", hostSideIP + "/16", "dev", "lan0"},
	}
	for _, ns := range []string{boxNS, phNS} {
		steps = append(steps, []string{"ip", "-n", ns, "link", "set", "lo", "up"}, []string{"ip", "-n", ns, "link", "set", "lan0", "up"})
	}
	for _, s := range steps {
		if err := l.sh(ctx, 10*time.Second, s[0], s[1:]...); err != nil {
			return err
		}
	}
	// Socket buffers as the box has them (pnpd forces 4 MiB itself); the
	// phones' side gets room for sipp's burst of answers.
	for _, ns := range []string{boxNS, phNS} {
		l.sh(ctx, 10*time.Second, "ip", "netns", "exec", ns, "sysctl", "-qw", "net.core.rmem_max=8388608", "net.core.rmem_default=1048576")
	}
	phMAC, err := l.output(ctx, 10*time.Second, phNS, "cat", "/sys/class/net/lan0/address")
	if err != nil {
		return err
	}
	phMAC = strings.TrimSpace(phMAC)
	var addrs, neigh bytes.Buffer
	add := func(a netip.Addr) {
		fmt.Fprintf(&addrs, "addr add %s/16 dev lan0\n", a)
		fmt.Fprintf(&neigh, "neigh replace %s lladdr %s dev lan0 nud permanent\n", a, phMAC)
	}
	fmt.Fprintf(&neigh, "neigh replace %s lladdr %s dev lan0 nud permanent\n", hostSideIP, phMAC)
	a := phoneBase
	for range phones {
		add(a)
		a = a.Next()
	}
	a = floodBase
	for range 1000 {
		add(a)
		a = a.Next()
	}
	if err := l.batch(ctx, phNS, addrs.String()); err != nil {
		return err
	}
	return l.batch(ctx, boxNS, neigh.String())
}

func (l *lan) batch(ctx context.Context, ns, cmds string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "-n", ns, "-batch", "-")
	cmd.Stdin = strings.NewReader(cmds)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip -n %s -batch: %w: %s", ns, err, tail(string(out), 300))
	}
	return nil
}

// proc is a server started in the box's namespace.
type proc struct {
	cmd  *exec.Cmd
	done chan error
	name string
}

func (l *lan) start(name string, ns string, args ...string) (*proc, error) {
	full := append([]string{"netns", "exec", ns}, args...)
	cmd := exec.Command("ip", full...)
	logf, err := os.Create(filepath.Join(l.work, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	p := &proc{cmd: cmd, done: make(chan error, 1), name: name}
	go func() { p.done <- cmd.Wait(); logf.Close() }()
	return p, nil
}

// stop ends the process and waits at most 10 s for it.
func (p *proc) stop() {
	if p == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// pid is the process's own pid: ip netns exec execs it in place.
func (p *proc) pid() int { return p.cmd.Process.Pid }

// rssKiB reads VmRSS of pid.
func rssKiB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}

// pnpd is a running pnpd with its API client.
type pnpd struct {
	*proc
	data    string
	started time.Time
	ready   time.Duration
}

var api = &http.Client{Timeout: 30 * time.Second}

func (l *lan) startPnpd(ctx context.Context, data string, extra ...string) (*pnpd, error) {
	args := append([]string{filepath.Join(l.bin, "pnpd"), "-iface", "lan0", "-board", "sim", "-data", data,
		"-http", fmt.Sprintf(":%d", httpPort), "-admin-password", password, "-log-level", "warn"}, extra...)
	t0 := time.Now()
	p, err := l.start("pnpd", boxNS, args...)
	if err != nil {
		return nil, err
	}
	d := &pnpd{proc: p, data: data, started: t0}
	end := time.Now().Add(60 * time.Second)
	for time.Now().Before(end) {
		select {
		case err := <-p.done:
			p.done <- err
			return nil, fmt.Errorf("pnpd exited at start (%v); see %s/pnpd.log", err, l.work)
		default:
		}
		if res, err := api.Get(fmt.Sprintf("http://%s:%d/healthz", boxAPI, httpPort)); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				d.ready = time.Since(t0)
				return d, nil
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	p.stop()
	return nil, errors.New("pnpd not ready within 60 s")
}

func (d *pnpd) do(method, path, ctype, body string, out any) error {
	req, err := http.NewRequest(method, fmt.Sprintf("http://%s:%d%s", boxAPI, httpPort, path), strings.NewReader(body))
	if err != nil {
		return err
	}
	req.SetBasicAuth("admin", password)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	res, err := api.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %s: %s", method, path, res.Status, tail(string(raw), 300))
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

type apiPhone struct {
	MAC       string `json:"mac"`
	IP        string `json:"ip"`
	State     string `json:"state"`
	Downloads int    `json:"downloads"`
	ConfigURL string `json:"config_url"`
}

func (d *pnpd) phones() ([]apiPhone, error) {
	var ps []apiPhone
	err := d.do("GET", "/api/phones", "", "", &ps)
	return ps, err
}

// downloads is the sum of every phone's download counter.
func (d *pnpd) downloads() (int, error) {
	ps, err := d.phones()
	n := 0
	for _, p := range ps {
		n += p.Downloads
	}
	return n, err
}

// stageCSV pre-stages n phones from firstMAC on through the CSV import.
func (d *pnpd) stageCSV(firstMAC uint64, n int) error {
	var b strings.Builder
	b.WriteString("mac,extension,password,display_name\n")
	for i := range n {
		fmt.Fprintf(&b, "%012X,%d,bench-pw-%06d,Desk %d\n", firstMAC+uint64(i), 10000+i, i, i+1)
	}
	return d.do("POST", "/api/assignments/import", "text/csv", b.String(), nil)
}
