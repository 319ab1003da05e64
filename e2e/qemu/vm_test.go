//go:build qemu && linux

// Package qemu boots the box's rootfs in an arm64 VM and tests it from a
// LAN of network namespaces: the checks of `make qemu-test`, which builds
// the kernel and initramfs and passes them in PNPBOX_VM_KERNEL and
// PNPBOX_VM_INITRD. Build tag qemu: `go test ./...` leaves it out.
package qemu

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/pnpbox/pnpbox/internal/netnstest"
)

const (
	password = "qemu-admin-password"
	vmMAC    = "52:54:00:00:aa:01"
	boxIP    = "198.18.0.10" // dnsmasq's reservation for vmMAC
	hostname = "pnpbox-aa01" // pnpbox- and the MAC's last 4 hex digits
	voiceVID = 20
)

// vm is the booted box and the LAN around it.
type vm struct {
	t       *testing.T
	lan     *netnstest.NS // bridge br0: the VM's tap, dnsmasq, phonesim
	laptop  *netnstest.NS // another machine on the LAN
	http    *http.Client
	console *console
	qemu    *exec.Cmd
	off     chan struct{} // closed when QEMU has exited
	started time.Time
	leases  string // dnsmasq's lease file
}

func TestBox(t *testing.T) {
	netnstest.Require(t, "dnsmasq", "chronyd", "qemu-system-aarch64", "mkfs.ext4")
	kernel, initrd := os.Getenv("PNPBOX_VM_KERNEL"), os.Getenv("PNPBOX_VM_INITRD")
	if kernel == "" || initrd == "" {
		t.Fatal("PNPBOX_VM_KERNEL and PNPBOX_VM_INITRD are not set: run make qemu-test")
	}
	phonesim := filepath.Join(t.TempDir(), "phonesim")
	if out, err := exec.Command("go", "build", "-o", phonesim, "../../cmd/phonesim").CombinedOutput(); err != nil {
		t.Fatalf("build phonesim: %v\n%s", err, out)
	}

	v := boot(t, kernel, initrd)
	t.Cleanup(func() {
		select {
		case <-v.off:
			return
		default:
		}
		if (t.Failed() || testing.Verbose()) && v.console.logged {
			t.Logf("--- /var/log/messages in the VM ---\n%s", v.console.run(t, "cat /var/log/messages"))
		}
	})

	// Power-on to /healthz 200: DHCP, the group joined, the store open.
	if !waitFor(90*time.Second, func() bool { return v.get("/healthz") == 200 }) {
		t.Fatalf("no /healthz 200 within 90 s of power-on")
	}
	ready := time.Since(v.started)
	t.Logf("MEASURED power-on to /healthz 200: %.1f s", ready.Seconds())

	st := v.status()
	t.Logf("status: %+v", st)
	if st.LED == "booting" || st.LED == "error" {
		t.Errorf("LED %q once healthy", st.LED)
	}

	t.Run("NTP", func(t *testing.T) {
		// chronyd on 198.18.0.1, named by DHCP option 42.
		if !waitFor(30*time.Second, func() bool { s := v.status(); return s.TimeSynced != nil && *s.TimeSynced }) {
			t.Errorf("time_synced is not true 30 s after /healthz: %+v", v.status())
		}
	})

	t.Run("console", func(t *testing.T) {
		v.console.login(t)
		if got := strings.TrimSpace(v.console.run(t, "hostname")); got != hostname {
			t.Errorf("hostname %q, want %q", got, hostname)
		}
		// DHCP option 12: the router's lease list shows the same name.
		if b, _ := os.ReadFile(v.leases); !strings.Contains(string(b), " "+boxIP+" "+hostname+" ") {
			t.Errorf("dnsmasq's lease for %s does not name %s:\n%s", boxIP, hostname, b)
		}
		mounts := v.console.run(t, "cat /proc/mounts")
		if !regexp.MustCompile(`(?m)^/dev/vda /data ext4 `).MatchString(mounts) {
			t.Errorf("/data is not the ext4 disk:\n%s", mounts)
		}
		if !regexp.MustCompile(`(?m)^tmpfs /tmp tmpfs `).MatchString(mounts) {
			t.Errorf("/tmp is not a tmpfs:\n%s", mounts)
		}
		if out := v.console.run(t, "touch /etc/x 2>&1; echo rc=$?"); !strings.Contains(out, "rc=1") {
			t.Errorf("the root filesystem is writable: %s", out)
		}
		// The clock, which started in 2001, was set by NTP.
		if out := v.console.run(t, "dmesg | grep 'setting system clock'"); !strings.Contains(out, "2001-01-01") {
			t.Errorf("the VM did not start in 2001 (-rtc): %s", out)
		}
		if got, want := strings.TrimSpace(regexp.MustCompile(`(?m)^\d{4}$`).FindString(v.console.run(t, "date -u +%Y"))), fmt.Sprint(time.Now().UTC().Year()); got != want {
			t.Errorf("the VM's year is %q, want %s: NTP did not set the clock", got, want)
		}
		// The lease's DNS server, where the resolver reads it.
		if out := v.console.run(t, "cat /etc/resolv.conf"); !strings.Contains(out, "nameserver 198.18.0.1\n") {
			t.Errorf("/etc/resolv.conf does not name the lease's DNS server:\n%s", out)
		}
	})

	t.Run("plug-and-play", func(t *testing.T) {
		v.api("PUT", "/api/settings", `{"sip_server":"pbx.example.net","provision_mode":"auto"}`, nil)
		for i, mac := range []string{"000B82E00001", "000B82E00002"} {
			v.api("PUT", "/api/phones/"+mac+"/assignment", fmt.Sprintf(`{"extension":"%d","password":"pw-secret-%d"}`, 201+i, i), nil)
		}
		rep := v.phonesim(t, phonesim, "br0", "198.18.0.100", "000B82E00001")
		checkReport(t, rep, 2)
	})

	t.Run("mDNS", func(t *testing.T) {
		// From another machine on the LAN: the name, and the page as a
		// DNS-SD service.
		a := v.mdnsQuery(t, hostname+".local.", dns.TypeA)
		if len(a) == 0 || a[0].(*dns.A).A.String() != boxIP {
			t.Errorf("%s.local A: %v, want %s", hostname, a, boxIP)
		}
		var port uint16
		for _, rr := range v.mdnsQuery(t, "_http._tcp.local.", dns.TypePTR) {
			if srv, ok := rr.(*dns.SRV); ok && srv.Target == hostname+".local." {
				port = srv.Port
			}
		}
		if port != 80 {
			t.Errorf("_http._tcp: no SRV for %s.local on port 80 (port %d)", hostname, port)
		}
	})

	t.Run("kill -9", func(t *testing.T) {
		v.console.login(t)
		before := pidof(t, v.console)
		if before == "" {
			t.Fatal("pnpd not running")
		}
		killed := time.Now()
		v.console.run(t, "kill -9 "+before)
		if !waitFor(30*time.Second, func() bool {
			now := pidof(t, v.console)
			return now != "" && now != before && v.get("/healthz") == 200
		}) {
			t.Fatalf("pnpd not back within 30 s of kill -9")
		}
		t.Logf("MEASURED kill -9 to /healthz 200 again: %.1f s", time.Since(killed).Seconds())
		var phones []struct {
			MAC   string `json:"mac"`
			State string `json:"state"`
		}
		v.api("GET", "/api/phones", "", &phones)
		provisioned := 0
		for _, p := range phones {
			if p.State == "provisioned" {
				provisioned++
			}
		}
		if provisioned != 2 {
			t.Errorf("after the restart %d phones provisioned, want 2: %+v", provisioned, phones)
		}
	})

	t.Run("voice VLAN", func(t *testing.T) {
		// pnpd -vlan 20 made eth0.20 and got an address there by DHCP;
		// phones on the voice VLAN (tagged on the VM's port) are
		// provisioned through it.
		var vlanAddr string
		for _, a := range v.status().Addresses {
			if strings.HasPrefix(a, "198.18.20.") {
				vlanAddr = a
			}
		}
		if vlanAddr == "" {
			t.Fatalf("no address on VLAN %d: %+v", voiceVID, v.status())
		}
		t.Logf("box on VLAN %d: %s", voiceVID, vlanAddr)
		for i, mac := range []string{"000B82E20001", "000B82E20002"} {
			v.api("PUT", "/api/phones/"+mac+"/assignment", fmt.Sprintf(`{"extension":"%d","password":"pw-secret-v%d"}`, 301+i, i), nil)
		}
		rep := v.phonesim(t, phonesim, "br20", "198.18.20.100", "000B82E20001")
		checkReport(t, rep, 2)
	})

	// Last, as it ends the VM: pnpd feeds the watchdog (i6300esb, 10 s
	// timeout) only while it is alive and healthy. The VM has run far
	// longer than 10 s so far, so it was fed; a stopped pnpd is not.
	t.Run("watchdog", func(t *testing.T) {
		v.console.login(t)
		pid := pidof(t, v.console)
		stopped := time.Now()
		fmt.Fprintf(v.console.conn, "kill -STOP %s\n", pid)
		select {
		case <-v.off:
			t.Logf("MEASURED pnpd stopped to board reset (QEMU -watchdog-action poweroff): %.1f s", time.Since(stopped).Seconds())
		case <-time.After(60 * time.Second):
			t.Fatal("the VM still runs 60 s after pnpd was stopped: the watchdog did not fire")
		}
	})

	t.Logf("MEASURED whole VM test: %.1f s after power-on", time.Since(v.started).Seconds())
}

func boot(t *testing.T, kernel, initrd string) *vm {
	dir := t.TempDir()
	v := &vm{t: t, lan: netnstest.New(t, "pnpbox-vm-lan"), laptop: netnstest.New(t, "pnpbox-vm-laptop"), off: make(chan struct{})}
	l := v.lan
	// The switch port: the LAN untagged on tap0 (bridge br0), the voice
	// VLAN on tapv (bridge br20), both to the VM's one NIC.
	_, netdev := newVLANSwitch(t, l, "tap0", "tapv", voiceVID)
	l.IP(t, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0")
	l.IP(t, "link", "set", "tap0", "master", "br0", "up")
	l.IP(t, "link", "set", "br0", "up")
	l.IP(t, "link", "add", "br20", "type", "bridge", "mcast_snooping", "0")
	l.IP(t, "link", "set", "tapv", "master", "br20", "up")
	l.IP(t, "link", "set", "br20", "up")
	l.IP(t, "addr", "add", "198.18.20.1/24", "dev", "br20")
	l.IP(t, "addr", "add", "198.18.20.100/24", "dev", "br20")
	l.IP(t, "addr", "add", "198.18.20.101/24", "dev", "br20")
	l.IP(t, "addr", "add", "198.18.0.1/24", "dev", "br0")
	l.IP(t, "route", "add", "224.0.0.0/4", "dev", "br0")
	for _, a := range []string{"198.18.0.100/24", "198.18.0.101/24"} {
		l.IP(t, "addr", "add", a, "dev", "br0")
	}
	netnstest.Cable(t, l, "lap0", v.laptop, "eth0")
	l.IP(t, "link", "set", "lap0", "master", "br0")
	v.laptop.IP(t, "addr", "add", "198.18.0.3/24", "dev", "eth0")
	v.laptop.IP(t, "route", "add", "224.0.0.0/4", "dev", "eth0")
	v.http = l.HTTPClient()
	v.leases = filepath.Join(dir, "leases")

	// The LAN's DHCP server, and the voice VLAN's: one each, as a router
	// would have (one dnsmasq would take the VLAN interface, which has
	// the same MAC, for the same client moving and drop the LAN lease).
	netnstest.Start(t, l.Command("dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--port=0",
		"--no-resolv", "--no-hosts", "--user=root", "--group=root", "--bind-interfaces", "--interface=br0",
		"--dhcp-range=198.18.0.50,198.18.0.60,2m",
		"--dhcp-host="+vmMAC+","+boxIP, "--dhcp-authoritative", "--log-dhcp", "--log-facility=-",
		"--dhcp-option=option:ntp-server,198.18.0.1", "--dhcp-option=option:dns-server,198.18.0.1",
		"--dhcp-leasefile="+v.leases, "--pid-file="+filepath.Join(dir, "dnsmasq.pid")), "dnsmasq")
	netnstest.Start(t, l.Command("dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--port=0",
		"--no-resolv", "--no-hosts", "--user=root", "--group=root", "--bind-interfaces", "--interface=br20",
		"--dhcp-range=198.18.20.50,198.18.20.60,2m", "--dhcp-authoritative", "--log-facility=-",
		"--dhcp-leasefile="+filepath.Join(dir, "leases20"), "--pid-file="+filepath.Join(dir, "dnsmasq20.pid")), "dnsmasq-vlan")

	// The NTP server DHCP names (option 42). -x: it never touches the
	// host's clock, which it serves.
	chrony := filepath.Join(dir, "chrony.conf")
	os.WriteFile(chrony, []byte("local stratum 8\nallow all\ncmdport 0\nbindaddress 198.18.0.1\npidfile "+
		filepath.Join(dir, "chronyd.pid")+"\n"), 0o644)
	netnstest.Start(t, l.Command("chronyd", "-d", "-x", "-f", chrony), "chronyd")

	// /data: an ext4 disk labelled as the box's data partition, with the
	// site settings a box would keep there.
	seed := filepath.Join(dir, "seed")
	os.MkdirAll(seed, 0o755)
	env := "PNPD_ADMIN_PASSWORD=" + password + "\nPNPD_BOARD=sim\n" + fmt.Sprintf("PNPD_VLAN=%d\n", voiceVID)
	if err := os.WriteFile(filepath.Join(seed, "pnpd.env"), []byte(env), 0o600); err != nil {
		t.Fatal(err)
	}
	disk := filepath.Join(dir, "data.img")
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", "-L", "pnpdata", "-d", seed, disk, "64M").CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v\n%s", err, out)
	}

	sock := filepath.Join(dir, "console.sock")
	logPath := filepath.Join(dir, "console.log")
	v.qemu = l.Command("qemu-system-aarch64", "-M", "virt", "-cpu", "cortex-a72", "-smp", "2", "-m", "384",
		"-display", "none", "-monitor", "none", "-no-reboot",
		"-kernel", kernel, "-initrd", initrd, "-append", "console=ttyAMA0 rdinit=/init quiet",
		"-netdev", netdev,
		"-device", "virtio-net-pci,netdev=n0,mac="+vmMAC,
		"-drive", "file="+disk+",if=none,format=raw,id=d0", "-device", "virtio-blk-pci,drive=d0",
		"-device", "i6300esb", "-watchdog-action", "poweroff",
		// Like a Pi, which has no real-time clock, the box wakes up in
		// the past and must learn the date by NTP.
		"-rtc", "base=2001-01-01T00:00:00",
		"-chardev", "socket,id=con,path="+sock+",server=on,wait=off,logfile="+logPath,
		"-serial", "chardev:con")
	var qout bytes.Buffer
	v.qemu.Stdout, v.qemu.Stderr = &qout, &qout
	v.started = time.Now()
	if err := v.qemu.Start(); err != nil {
		t.Fatalf("qemu: %v", err)
	}
	go func() { v.qemu.Wait(); close(v.off) }()
	t.Cleanup(func() {
		v.qemu.Process.Kill()
		<-v.off
		if t.Failed() || testing.Verbose() {
			b, _ := os.ReadFile(logPath)
			t.Logf("--- VM console ---\n%s\n--- qemu ---\n%s", b, qout.String())
		}
	})
	var conn net.Conn
	if !waitFor(10*time.Second, func() bool {
		var err error
		conn, err = net.Dial("unix", sock)
		return err == nil
	}) {
		t.Fatalf("qemu's console socket did not appear: %s", qout.String())
	}
	v.console = newConsole(conn)
	t.Cleanup(func() { conn.Close() })
	return v
}

func (v *vm) get(path string) int {
	res, err := v.http.Get("http://" + boxIP + path)
	if err != nil {
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}

func (v *vm) api(method, path, body string, out any) {
	v.t.Helper()
	req, _ := http.NewRequest(method, "http://"+boxIP+path, strings.NewReader(body))
	req.SetBasicAuth("admin", password)
	res, err := v.http.Do(req)
	if err != nil {
		v.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		v.t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			v.t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
}

type status struct {
	LED        string   `json:"led"`
	Interface  string   `json:"interface"`
	Addresses  []string `json:"addresses"`
	Joined     bool     `json:"multicast_joined"`
	TimeSynced *bool    `json:"time_synced"`
}

func (v *vm) status() status {
	var s status
	v.api("GET", "/api/status", "", &s)
	return s
}

// report is phonesim's -json output (the fields this test reads).
type report struct {
	Provisioned int `json:"provisioned"`
	Total       int `json:"total"`
	Phones      []struct {
		MAC       string `json:"mac"`
		Notify    bool   `json:"notify"`
		FirstOK   bool   `json:"first_download_ok"`
		SecondOK  bool   `json:"second_download_ok"`
		Identical bool   `json:"identical"`
		Got200    bool   `json:"got_200"`
		Error     string `json:"error"`
	} `json:"phones"`
}

// phonesim runs two simulated phones in the LAN
// namespace against the box by multicast and returns the report.
func (v *vm) phonesim(t *testing.T, bin, iface, firstIP, firstMAC string) report {
	t.Helper()
	cmd := v.lan.Command(bin, "-n", "2", "-first-ip", firstIP, "-first-mac", firstMAC, "-iface", iface,
		"-reboot", "1s", "-json", "-timeout", "90s")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("phonesim: %v\n%s\n%s", err, out, stderr.String())
	}
	var rep report
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("phonesim report: %v\n%s", err, out)
	}
	return rep
}

func checkReport(t *testing.T, rep report, n int) {
	t.Helper()
	if rep.Total != n || rep.Provisioned != n {
		t.Errorf("phonesim: %d/%d provisioned, want %d/%d", rep.Provisioned, rep.Total, n, n)
	}
	for _, p := range rep.Phones {
		if !p.Got200 || !p.Notify || !p.FirstOK || !p.SecondOK || !p.Identical {
			t.Errorf("phone %s: 200 %v NOTIFY %v downloads %v/%v identical %v: %s",
				p.MAC, p.Got200, p.Notify, p.FirstOK, p.SecondOK, p.Identical, p.Error)
		}
	}
}

// mdnsQuery asks the LAN by multicast DNS from the laptop namespace (a
// one-shot query from an ordinary port, RFC 6762 §5.1) and returns the
// first answer's records.
func (v *vm) mdnsQuery(t *testing.T, name string, qtype uint16) []dns.RR {
	t.Helper()
	conn, err := netnstest.Do(v.laptop, func() (*net.UDPConn, error) { return net.ListenUDP("udp4", &net.UDPAddr{}) })
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	q := new(dns.Msg)
	q.SetQuestion(name, qtype)
	b, _ := q.Pack()
	buf := make([]byte, 9000)
	for range 5 {
		conn.WriteToUDP(b, &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251), Port: 5353})
		conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, _, err := conn.ReadFromUDP(buf)
		if err != nil {
			continue
		}
		var m dns.Msg
		if m.Unpack(buf[:n]) == nil && len(m.Answer) > 0 {
			return m.Answer
		}
	}
	t.Fatalf("no mDNS answer for %s from the laptop namespace", name)
	return nil
}

func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(200 * time.Millisecond)
	}
	return true
}

// console is the VM's serial console (the box's ttyAMA0 getty).
type console struct {
	conn   net.Conn
	mu     sync.Mutex
	buf    bytes.Buffer
	news   chan struct{}
	logged bool
}

func newConsole(c net.Conn) *console {
	con := &console{conn: c, news: make(chan struct{}, 1)}
	go func() {
		r := bufio.NewReader(c)
		b := make([]byte, 4096)
		for {
			n, err := r.Read(b)
			con.mu.Lock()
			con.buf.Write(b[:n])
			con.mu.Unlock()
			select {
			case con.news <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	return con
}

// expect waits until the output since mark contains re, and returns the
// output up to the match's end and the new mark.
func (c *console) expect(t *testing.T, mark int, re *regexp.Regexp, d time.Duration) (string, int) {
	t.Helper()
	deadline := time.After(d)
	for {
		c.mu.Lock()
		s := c.buf.String()[mark:]
		c.mu.Unlock()
		if loc := re.FindStringIndex(s); loc != nil {
			return s[:loc[1]], mark + loc[1]
		}
		select {
		case <-c.news:
		case <-time.After(500 * time.Millisecond):
		case <-deadline:
			t.Fatalf("console: no %q within %v; got:\n%s", re, d, s)
		}
	}
}

func (c *console) mark() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Len()
}

var loginPrompt = regexp.MustCompile(`login: $`)

// login logs in as root (no password on the console, as Buildroot's
// default) unless already logged in.
func (c *console) login(t *testing.T) {
	t.Helper()
	if c.logged {
		return
	}
	m := c.mark()
	fmt.Fprint(c.conn, "\n")
	c.expect(t, m, loginPrompt, 60*time.Second)
	m = c.mark()
	fmt.Fprint(c.conn, "root\n")
	// ash may follow its prompt with a terminal query (ESC [6n).
	c.expect(t, m, regexp.MustCompile(`# `), 30*time.Second)
	c.logged = true
}

// pidof returns pnpd's process ID in the VM, "" when none runs.
func pidof(t *testing.T, c *console) string {
	return regexp.MustCompile(`(?m)^\d+$`).FindString(c.run(t, "pidof pnpd"))
}

var seqMarker int

// run runs a shell command and returns its output.
func (c *console) run(t *testing.T, cmd string) string {
	t.Helper()
	seqMarker++
	end := fmt.Sprintf("__END%d__", seqMarker)
	m := c.mark()
	// The marker is split so the echoed command line does not match it.
	fmt.Fprintf(c.conn, "%s; echo __END''%d__\n", cmd, seqMarker)
	out, _ := c.expect(t, m, regexp.MustCompile(regexp.QuoteMeta(end)), 30*time.Second)
	out = strings.TrimSuffix(out, end)
	// Drop the echoed command line.
	if i := strings.Index(out, "\n"); i >= 0 {
		out = out[i+1:]
	}
	return strings.ReplaceAll(out, "\r", "")
}
