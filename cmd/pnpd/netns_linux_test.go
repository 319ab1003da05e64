//go:build linux

package main

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pnpbox/pnpbox/internal/apiclient"
	"github.com/pnpbox/pnpbox/internal/netnstest"
	"golang.org/x/net/ipv4"
)

// The LAN tests run pnpd in a network namespace ("box") cabled to others
// ("lan", …) where dnsmasq serves DHCP and test code plays the phones, with
// real multicast. Addresses are from 198.18.0.0/15 (RFC 2544 benchmarking).

// nsDaemon is pnpd (this test binary, see TestMain) running in a namespace.
type nsDaemon struct {
	t    *testing.T
	ns   *netnstest.NS
	http *http.Client
	mu   sync.Mutex
	log  []string // pnpd's output, logged when the test ends
}

func startInNS(t *testing.T, ns *netnstest.NS, args ...string) *nsDaemon {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	args = append([]string{"-board", "sim", "-data", t.TempDir(), "-http", "127.0.0.1:8080",
		"-admin-password", testPassword, "-log-level", "debug"}, args...)
	cmd := ns.Command(exe, args...)
	cmd.Env = append(os.Environ(), "PNPBOX_TEST_DAEMON=1", "PNPBOX_TEST_READY=1")
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	readyR, readyW, err := os.Pipe() // fd 3 in pnpd: its ready signal (TestMain)
	if err != nil {
		t.Fatal(err)
	}
	defer readyR.Close()
	cmd.ExtraFiles = []*os.File{readyW}
	d := &nsDaemon{t: t, ns: ns, http: ns.HTTPClient()}
	err = cmd.Start()
	readyW.Close()
	if err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); pw.Close(); close(exited) }()
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			d.mu.Lock()
			d.log = append(d.log, sc.Text())
			d.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			t.Error("pnpd did not stop within 15 s of SIGTERM")
			cmd.Process.Kill()
			<-exited
		}
		<-scanned
		d.mu.Lock()
		defer d.mu.Unlock()
		for _, l := range d.log {
			t.Log("pnpd: " + l)
		}
		if !strings.Contains(strings.Join(d.log, "\n"), "shut down cleanly") {
			t.Error("pnpd did not shut down cleanly")
		}
	})
	// The ready signal, or EOF when pnpd exits first.
	ready := make(chan error, 1)
	go func() { ready <- json.NewDecoder(readyR).Decode(new(serving)) }()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatalf("pnpd exited before it was ready (%v)", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("pnpd not ready within 30 s")
	}
	return d
}

func (d *nsDaemon) api(method, path, body string, out any) int {
	d.t.Helper()
	c := &apiclient.Client{Base: "http://127.0.0.1:8080", Password: testPassword, HTTP: d.http}
	return c.Call(d.t, method, path, body, out)
}

type boxStatus struct {
	Addresses  []string `json:"addresses"`
	LED        string   `json:"led"`
	Problem    string   `json:"problem"`
	Joined     bool     `json:"multicast_joined"`
	Interfaces []struct {
		Name      string   `json:"name"`
		Addresses []string `json:"addresses"`
		Joined    bool     `json:"multicast_joined"`
	} `json:"interfaces"`
}

// waitStatus polls /api/status until cond holds; it returns the status
// and how long it took.
func (d *nsDaemon) waitStatus(what string, timeout time.Duration, cond func(boxStatus) bool) (boxStatus, time.Duration) {
	d.t.Helper()
	start := time.Now()
	var st boxStatus
	for {
		st = boxStatus{}
		d.api("GET", "/api/status", "", &st)
		if cond(st) {
			return st, time.Since(start)
		}
		if time.Since(start) > timeout {
			d.t.Fatalf("waited %v for %s; status: %+v", timeout, what, st)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func hasAddrIn(st boxStatus, prefix string) string {
	p := netip.MustParsePrefix(prefix)
	for _, a := range st.Addresses {
		if ap, err := netip.ParsePrefix(a); err == nil && p.Contains(ap.Addr()) {
			return a
		}
	}
	return ""
}

// dnsmasq runs a DHCP server on iface in ns until the returned stop is
// called or the test ends.
func dnsmasq(t *testing.T, ns *netnstest.NS, iface, rangeSpec string) (stop func()) {
	t.Helper()
	dir := t.TempDir()
	cmd := ns.Command("dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--port=0",
		"--no-resolv", "--no-hosts", "--user=root", "--group=root", "--bind-interfaces", "--interface="+iface,
		"--dhcp-range="+rangeSpec, "--dhcp-authoritative", "--log-dhcp", "--log-facility=-",
		// Short renewal times (the shortest lease dnsmasq gives is 2 min).
		"--dhcp-option=option:T1,4", "--dhcp-option=option:T2,8",
		"--dhcp-leasefile="+filepath.Join(dir, "leases"), "--pid-file="+filepath.Join(dir, "pid"))
	w := &lineLog{t: t, name: "dnsmasq"}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cmd.Process.Kill()
			<-done
		}
	}
	t.Cleanup(stop)
	return stop
}

type lineLog struct {
	t    *testing.T
	name string
}

func (w *lineLog) Write(b []byte) (int, error) {
	w.t.Logf("%s: %s", w.name, strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// nsPhone is a simulated PnP phone: a UDP socket in a namespace.
type nsPhone struct {
	t    *testing.T
	conn *net.UDPConn
	ip   netip.Addr
	mac  string
}

func newNSPhone(t *testing.T, ns *netnstest.NS, ifname, ip, mac string) *nsPhone {
	t.Helper()
	p := &nsPhone{t: t, ip: netip.MustParseAddr(ip), mac: mac}
	conn, err := netnstest.Do(ns, func() (*net.UDPConn, error) {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: p.ip.AsSlice(), Port: 5062})
		if err != nil {
			return nil, err
		}
		ifi, err := net.InterfaceByName(ifname)
		if err == nil {
			err = ipv4.NewPacketConn(c).SetMulticastInterface(ifi)
		}
		if err != nil {
			c.Close()
		}
		return c, err
	})
	if err != nil {
		t.Fatalf("phone socket in %s: %v", ns.Name, err)
	}
	t.Cleanup(func() { conn.Close() })
	p.conn = conn
	return p
}

func token() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// subscribe sends one PnP SUBSCRIBE (a new transaction) to the SIP
// multicast group and reports whether a 200 came back within wait.
func (p *nsPhone) subscribe(wait time.Duration) bool {
	p.t.Helper()
	msg := strings.ReplaceAll(fmt.Sprintf(`SUBSCRIBE sip:MAC%%3A%[1]s@224.0.1.75 SIP/2.0
Via: SIP/2.0/UDP %[2]s:5062;branch=z9hG4bK%[3]s;rport
From: <sip:MAC%%3A%[1]s@224.0.1.75>;tag=%[3]s
To: <sip:MAC%%3A%[1]s@224.0.1.75>
Call-ID: %[3]s@%[2]s
CSeq: 20000 SUBSCRIBE
Contact: <sip:%[2]s:5062>
Max-Forwards: 70
User-Agent: Grandstream GXP2140 1.0.11.3
Expires: 0
Event: ua-profile;profile-type="device";vendor="Grandstream";model="GXP2140";version="1.0.11.3"
Accept: application/url
Content-Length: 0

`, p.mac, p.ip, token()), "\n", "\r\n")
	if _, err := p.conn.WriteToUDP([]byte(msg), &net.UDPAddr{IP: net.IPv4(224, 0, 1, 75), Port: 5060}); err != nil {
		p.t.Logf("phone %s: send SUBSCRIBE: %v", p.ip, err)
		time.Sleep(wait)
		return false
	}
	buf := make([]byte, 4096)
	p.conn.SetReadDeadline(time.Now().Add(wait))
	for {
		n, _, err := p.conn.ReadFromUDP(buf)
		if err != nil {
			return false
		}
		if strings.HasPrefix(string(buf[:n]), "SIP/2.0 200") {
			return true
		}
	}
}

// notify waits for a NOTIFY, answers it 200 OK and returns its body (the
// config URL).
func (p *nsPhone) notify(wait time.Duration) string {
	p.t.Helper()
	buf := make([]byte, 8192)
	p.conn.SetReadDeadline(time.Now().Add(wait))
	for {
		n, from, err := p.conn.ReadFromUDP(buf)
		if err != nil {
			p.t.Fatalf("phone %s: no NOTIFY within %v: %v", p.ip, wait, err)
		}
		msg := string(buf[:n])
		if !strings.HasPrefix(msg, "NOTIFY ") {
			continue
		}
		head, body, _ := strings.Cut(msg, "\r\n\r\n")
		res := "SIP/2.0 200 OK\r\n"
		for _, h := range strings.Split(head, "\r\n")[1:] {
			name, _, _ := strings.Cut(h, ":")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "via", "from", "to", "call-id", "cseq":
				res += h + "\r\n"
			}
		}
		res += "Content-Length: 0\r\n\r\n"
		p.conn.WriteToUDP([]byte(res), from)
		return strings.TrimSpace(body)
	}
}

// igmpJoined reports whether /proc/net/igmp in ns lists 224.0.1.75 on dev.
func igmpJoined(t *testing.T, ns *netnstest.NS, dev string) bool {
	cur := ""
	for _, l := range strings.Split(ns.ReadFile(t, "/proc/net/igmp"), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && !strings.HasPrefix(l, "\t") {
			cur = f[1]
		} else if len(f) > 0 && cur == dev && f[0] == "4B0100E0" {
			return true
		}
	}
	return false
}

const phoneMAC = "000B82273B89"

// TestLANDHCP: pnpd gets its address from a DHCP server, answers a
// phone's multicast SUBSCRIBE and puts its leased address in the NOTIFY
// URL; when the server's range changes under it (NAK at the next
// renewal) it follows, and new URLs carry the new address; after the
// cable is pulled and plugged back it answers multicast again within 5 s.
func TestLANDHCP(t *testing.T) {
	netnstest.Require(t, "dnsmasq")
	box, lan := netnstest.New(t, "pnpbox"), netnstest.New(t, "pnplan")
	netnstest.Cable(t, box, "lan0", lan, "peer0")
	lan.IP(t, "addr", "add", "198.18.0.1/24", "dev", "peer0")
	stopDHCP := dnsmasq(t, lan, "peer0", "198.18.0.100,198.18.0.150,255.255.255.0,2m")

	start := time.Now()
	d := startInNS(t, box, "-iface", "lan0", "-net", "dhcp", "-dhcp-timeout", "60s")
	st, took := d.waitStatus("a DHCP lease", 60*time.Second, func(st boxStatus) bool { return hasAddrIn(st, "198.18.0.0/24") != "" })
	first := hasAddrIn(st, "198.18.0.0/24")
	t.Logf("MEASURED: lease %s %v after pnpd was ready (%v after start)", first, took, time.Since(start))
	if st.LED == "error" || st.LED == "booting" {
		d.waitStatus("LED to leave booting/error", 10*time.Second, func(st boxStatus) bool { return st.LED != "error" && st.LED != "booting" })
	}

	ph := newNSPhone(t, lan, "peer0", "198.18.0.1", phoneMAC)
	d.api("PUT", "/api/settings", `{"provision_mode":"auto","sip_server":"pbx.example.net"}`, nil)
	if code := d.api("PUT", "/api/phones/"+phoneMAC+"/assignment", `{"extension":"201","password":"pw-201-secret"}`, nil); code != 200 {
		t.Fatalf("assign: %d", code)
	}
	if !ph.subscribe(5 * time.Second) {
		t.Fatal("no 200 to a multicast SUBSCRIBE")
	}
	firstIP := strings.Split(first, "/")[0]
	if url := ph.notify(10 * time.Second); !strings.HasPrefix(url, "http://"+firstIP+":8080/p/") {
		t.Errorf("NOTIFY URL %q, want one on the leased address %s", url, firstIP)
	}

	t.Run("lease changes", func(t *testing.T) {
		stopDHCP()
		dnsmasq(t, lan, "peer0", "198.18.0.200,198.18.0.250,255.255.255.0,2m")
		st, took := d.waitStatus("the new lease", 60*time.Second, func(st boxStatus) bool {
			a := hasAddrIn(st, "198.18.0.0/24")
			return a != "" && a != first && len(st.Addresses) == 1
		})
		t.Logf("MEASURED: new lease %s %v after the server changed its range (renewal every 4 s)", st.Addresses, took)
		newIP := strings.Split(hasAddrIn(st, "198.18.0.0/24"), "/")[0]
		if code := d.api("POST", "/api/phones/"+phoneMAC+"/provision", "", nil); code != 202 {
			t.Fatalf("provision again: %d", code)
		}
		if url := ph.notify(10 * time.Second); !strings.HasPrefix(url, "http://"+newIP+":8080/p/") {
			t.Errorf("NOTIFY URL after the lease change %q, want the new address %s", url, newIP)
		}
	})

	t.Run("link flap", func(t *testing.T) {
		// The LED follows the LAN at 4 Hz: after the lease change it may
		// still show the NAK's error for a tick. Start from a healthy LED, so
		// the error seen below is the pulled cable's.
		d.waitStatus("the LED out of error before the cable is pulled", 30*time.Second, func(st boxStatus) bool { return st.LED != "error" && st.LED != "booting" })
		lan.IP(t, "link", "set", "peer0", "down")
		st, took := d.waitStatus("the LED to show the lost link", 10*time.Second, func(st boxStatus) bool { return st.LED == "error" })
		t.Logf("MEASURED: LED error %v after the cable was pulled (%s)", took, st.Problem)
		if !strings.Contains(st.Problem, "no link") {
			t.Errorf("problem = %q, want it to say no link", st.Problem)
		}
		lan.IP(t, "link", "set", "peer0", "up")
		up := time.Now()
		for !ph.subscribe(250 * time.Millisecond) {
			if time.Since(up) > 5*time.Second {
				t.Fatalf("no answer to a multicast SUBSCRIBE 5 s after the link returned")
			}
		}
		t.Logf("MEASURED: multicast SUBSCRIBE answered %v after link up", time.Since(up))
		if !igmpJoined(t, box, "lan0") {
			t.Error("/proc/net/igmp in the box does not list 224.0.1.75 on lan0")
		}
		d.waitStatus("the LED to recover", 30*time.Second, func(st boxStatus) bool { return st.LED != "error" && st.LED != "booting" })
		t.Logf("MEASURED: LED out of error %v after link up", time.Since(up))
	})
}

// TestLANFallback: without a DHCP server pnpd takes a link-local address
// after -dhcp-timeout (plus the ARP probes), and answers phones on it; a
// server that turns up later replaces it with a lease.
func TestLANFallback(t *testing.T) {
	netnstest.Require(t, "dnsmasq")
	box, lan := netnstest.New(t, "pnpbox"), netnstest.New(t, "pnplan")
	netnstest.Cable(t, box, "lan0", lan, "peer0")
	lan.IP(t, "addr", "add", "169.254.0.1/16", "dev", "peer0")

	d := startInNS(t, box, "-iface", "lan0", "-net", "dhcp", "-dhcp-timeout", "2s")
	st, took := d.waitStatus("a link-local address", 30*time.Second, func(st boxStatus) bool { return hasAddrIn(st, "169.254.0.0/16") != "" })
	t.Logf("MEASURED: link-local %s %v after pnpd was ready (-dhcp-timeout 2s + 3 ARP probes)", st.Addresses, took)
	if took > 15*time.Second {
		t.Errorf("fallback took %v", took)
	}
	ph := newNSPhone(t, lan, "peer0", "169.254.0.1", phoneMAC)
	ok := false
	for i := 0; i < 20 && !ok; i++ {
		ok = ph.subscribe(250 * time.Millisecond)
	}
	if !ok {
		t.Error("no 200 to a SUBSCRIBE on the link-local subnet")
	}

	lan.IP(t, "addr", "add", "198.18.0.1/24", "dev", "peer0")
	dnsmasq(t, lan, "peer0", "198.18.0.100,198.18.0.150,255.255.255.0,2m")
	st, took = d.waitStatus("a lease in place of the fallback", 60*time.Second, func(st boxStatus) bool {
		return hasAddrIn(st, "198.18.0.0/24") != "" && hasAddrIn(st, "169.254.0.0/16") == ""
	})
	t.Logf("MEASURED: lease %s replaced the link-local address %v after the DHCP server started", st.Addresses, took)
}

// TestLANTwoInterfaces: pnpd serves two LANs at once (a static address
// on lan0, lan1 as configured); each phone's NOTIFY URL carries the box's
// address on that phone's LAN, and /api/status lists both.
func TestLANTwoInterfaces(t *testing.T) {
	netnstest.Require(t)
	box, lanA, lanB := netnstest.New(t, "pnpbox"), netnstest.New(t, "pnplan"), netnstest.New(t, "pnplan")
	netnstest.Cable(t, box, "lan0", lanA, "peer0")
	netnstest.Cable(t, box, "lan1", lanB, "peer0")
	lanA.IP(t, "addr", "add", "198.18.0.1/24", "dev", "peer0")
	lanB.IP(t, "addr", "add", "198.18.1.1/24", "dev", "peer0")
	box.IP(t, "addr", "add", "198.18.1.2/24", "dev", "lan1")

	d := startInNS(t, box, "-iface", "lan0,lan1", "-net", "static", "-addr", "198.18.0.2/24", "-gw", "198.18.0.1")
	st, _ := d.waitStatus("both interfaces joined", 10*time.Second, func(st boxStatus) bool { return st.Joined && len(st.Interfaces) == 2 })
	if st.Interfaces[0].Name != "lan0" || st.Interfaces[1].Name != "lan1" ||
		fmt.Sprint(st.Interfaces[0].Addresses) != "[198.18.0.2/24]" || fmt.Sprint(st.Interfaces[1].Addresses) != "[198.18.1.2/24]" {
		t.Errorf("interfaces in /api/status: %+v", st.Interfaces)
	}
	if out := box.IP(t, "route", "show", "default"); !strings.Contains(out, "via 198.18.0.1 dev lan0") {
		t.Errorf("default route: %q", out)
	}
	d.api("PUT", "/api/settings", `{"provision_mode":"auto","sip_server":"pbx.example.net"}`, nil)
	for i, tc := range []struct {
		ns   *netnstest.NS
		ip   string
		want string
	}{{lanA, "198.18.0.1", "198.18.0.2"}, {lanB, "198.18.1.1", "198.18.1.2"}} {
		mac := fmt.Sprintf("000B8200000%d", i+1)
		d.api("PUT", "/api/phones/"+mac+"/assignment", `{"extension":"20`+fmt.Sprint(i)+`","password":"pw-secret-xyz"}`, nil)
		ph := newNSPhone(t, tc.ns, "peer0", tc.ip, mac)
		if !ph.subscribe(5 * time.Second) {
			t.Fatalf("phone %s: no 200", tc.ip)
		}
		if url := ph.notify(10 * time.Second); !strings.HasPrefix(url, "http://"+tc.want+":8080/p/") {
			t.Errorf("phone %s: NOTIFY URL %q, want the box's address %s on its LAN", tc.ip, url, tc.want)
		}
	}
}

// TestLANVLAN: -vlan creates <iface>.<ID> and serves phones on the voice
// VLAN too: a SUBSCRIBE over the VLAN is answered and the NOTIFY URL
// carries the box's VLAN address.
func TestLANVLAN(t *testing.T) {
	netnstest.Require(t)
	box, lan := netnstest.New(t, "pnpbox"), netnstest.New(t, "pnplan")
	netnstest.Cable(t, box, "lan0", lan, "peer0")
	if out, err := lan.Command("ip", "link", "add", "link", "peer0", "name", "peer0.20", "type", "vlan", "id", "20").CombinedOutput(); err != nil {
		// A kernel feature, not a package CI could install.
		t.Skipf("this kernel cannot make VLAN interfaces (CONFIG_VLAN_8021Q): %v: %s", err, out)
	}
	lan.IP(t, "link", "set", "peer0.20", "up")
	lan.IP(t, "addr", "add", "198.18.0.1/24", "dev", "peer0")
	lan.IP(t, "addr", "add", "198.18.20.1/24", "dev", "peer0.20")

	d := startInNS(t, box, "-iface", "lan0", "-net", "static", "-addr", "198.18.0.2/24", "-vlan", "20", "-vlan-addr", "198.18.20.2/24")
	st, _ := d.waitStatus("the VLAN served", 10*time.Second, func(st boxStatus) bool { return st.Joined && len(st.Interfaces) == 2 })
	if st.Interfaces[1].Name != "lan0.20" || fmt.Sprint(st.Interfaces[1].Addresses) != "[198.18.20.2/24]" {
		t.Errorf("interfaces: %+v", st.Interfaces)
	}
	d.api("PUT", "/api/settings", `{"provision_mode":"auto","sip_server":"pbx.example.net"}`, nil)
	d.api("PUT", "/api/phones/"+phoneMAC+"/assignment", `{"extension":"201","password":"pw-201-secret"}`, nil)
	ph := newNSPhone(t, lan, "peer0.20", "198.18.20.1", phoneMAC)
	if !ph.subscribe(5 * time.Second) {
		t.Fatal("no 200 to a SUBSCRIBE over the VLAN")
	}
	if url := ph.notify(10 * time.Second); !strings.HasPrefix(url, "http://198.18.20.2:8080/p/") {
		t.Errorf("NOTIFY URL %q, want the box's VLAN address", url)
	}
}

// TestVLANWithoutKernelSupport: where the kernel cannot make VLANs, -vlan
// is a startup error that says so.
func TestVLANWithoutKernelSupport(t *testing.T) {
	netnstest.Require(t)
	box, lan := netnstest.New(t, "pnpbox"), netnstest.New(t, "pnplan")
	netnstest.Cable(t, box, "lan0", lan, "peer0")
	if err := lan.Command("ip", "link", "add", "link", "peer0", "name", "peer0.20", "type", "vlan", "id", "20").Run(); err == nil {
		t.Skip("this kernel makes VLANs; TestLANVLAN covers -vlan")
	}
	exe, _ := os.Executable()
	cmd := box.Command(exe, "-board", "sim", "-data", t.TempDir(), "-http", "127.0.0.1:0", "-iface", "lan0",
		"-net", "static", "-addr", "198.18.0.2/24", "-vlan", "20", "-vlan-addr", "198.18.20.2/24")
	cmd.Env = append(os.Environ(), "PNPBOX_TEST_DAEMON=1")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "802.1Q") {
		t.Errorf("pnpd -vlan without kernel support: %v\n%s", err, out)
	}
}
