//go:build linux

package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/pnpbox/pnpbox/internal/netnstest"
)

// tortureDir is RFC 4475's messages, byte-exact, as sipgo's module ships
// them (sip/testdata/torture/{valid,invalid}), in the module cache.
func tortureDir(t *testing.T) string {
	t.Helper()
	version := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/emiago/sipgo" {
				version = d.Version
			}
		}
	}
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil || version == "" {
		t.Fatalf("sipgo's module (for RFC 4475's messages): version %q, GOMODCACHE: %v", version, err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "github.com/emiago/sipgo@"+version, "sip/testdata/torture")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("RFC 4475 messages: %v (go mod download github.com/emiago/sipgo)", err)
	}
	return dir
}

// extremes are robustness.md table M6: sizes and shapes around a PnP
// SUBSCRIBE. None may create a record or get an answer.
func extremes() map[string][]byte {
	sub := func(mac, extra string, body string) []byte {
		return []byte(strings.ReplaceAll(fmt.Sprintf("SUBSCRIBE sip:MAC%%3A%s@224.0.1.75 SIP/2.0\n"+
			"Via: SIP/2.0/UDP 198.18.0.50:5070;branch=z9hG4bK%s\nFrom: <sip:MAC%%3A%s@224.0.1.75>;tag=1\n"+
			"To: <sip:MAC%%3A%s@224.0.1.75>\nCall-ID: m6-%s\nCSeq: 1 SUBSCRIBE\nContact: <sip:198.18.0.50:5070>\n"+
			"Max-Forwards: 70\nExpires: 0\nEvent: ua-profile;vendor=\"Grandstream\";model=\"GXP2140\"\n%s"+
			"Content-Length: %d\n\n%s", mac, mac, mac, mac, mac, extra, len(body), body), "\n", "\r\n"))
	}
	junk := func(n int) []byte { return bytes.Repeat([]byte{0xA5}, n) }
	many := func(n int, h string) string { return strings.Repeat(h+"\n", n) }
	return map[string][]byte{
		"0 B": {}, "1 B": {'S'}, "CRLF keepalive": []byte("\r\n\r\n"), "1,400 B junk": junk(1400),
		"8 KiB junk": junk(8192), "65,507 B datagram": junk(65507),
		"8 KiB SUBSCRIBE (header padding)":  sub("000B82E00001", "X-Pad: "+strings.Repeat("a", 8200)+"\n", ""),
		"10,000 one-byte headers":           sub("000B82E00002", many(10000, "a:"), ""),
		"one 60 KiB header line":            sub("000B82E00003", "X-Long: "+strings.Repeat("b", 60000)+"\n", ""),
		"1,000 Via headers":                 sub("000B82E00004", many(1000, "Via: SIP/2.0/UDP 198.18.0.50:5070;branch=z9hG4bKx"), ""),
		"Content-Length -1":                 bytes.Replace(sub("000B82E00005", "", ""), []byte("Content-Length: 0"), []byte("Content-Length: -1"), 1),
		"Content-Length 4294967295":         bytes.Replace(sub("000B82E00006", "", ""), []byte("Content-Length: 0"), []byte("Content-Length: 4294967295"), 1),
		"Content-Length 1e100":              bytes.Replace(sub("000B82E00007", "", ""), []byte("Content-Length: 0"), []byte("Content-Length: 1e100"), 1),
		"NULs in the MAC and a header name": bytes.ReplaceAll(sub("000B82\x00E0008", "", ""), []byte("Max-Forwards"), []byte("Max\x00Forwards\x00")),
		"invalid UTF-8 in the MAC":          sub("000B82E\xc3\x28009", "User-Agent: \xff\xfe\xc3\x28 \xed\xa0\x80\n", ""),
		"MAC of 11 digits":                  sub("000B82E0001", "", ""),
		"MAC of 13 digits":                  sub("000B82E000011", "", ""),
		"two MACs":                          sub("000B82E00012000B82E00013", "", ""),
		"MAC not hex":                       sub("000B82E0001G", "", ""),
	}
}

// TestTortureOverUDP replays RFC 4475's 50 torture messages and the M6
// extremes over UDP from a LAN host, to the box's address and to the PnP
// group, at a running pnpd: it must keep running, record no phone, and
// answer nothing (RFC 3261 would have a proxy answer some of them with
// 400; a PnP responder answers no scanner). The box is then still
// answering a real phone, which proves the packets did arrive at a
// working box.
func TestTortureOverUDP(t *testing.T) {
	netnstest.Require(t)
	dir := tortureDir(t)
	box, lan := netnstest.New(t, "pnpbox"), netnstest.New(t, "pnplan")
	netnstest.Cable(t, box, "lan0", lan, "peer0")
	lan.IP(t, "addr", "add", "198.18.0.1/24", "dev", "peer0")
	lan.IP(t, "addr", "add", "198.18.0.50/24", "dev", "peer0")
	// -sip-source-rate 0: the per-source limits would drop some of these
	// unparsed (one attacker, many new transactions), and the point here
	// is that every message reaches the parser.
	d := startInNS(t, box, "-iface", "lan0", "-net", "static", "-addr", "198.18.0.2/24", "-sip-source-rate", "0")
	d.waitStatus("joined", 10*time.Second, func(st boxStatus) bool { return st.Joined })

	msgs := map[string][]byte{}
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*.dat"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		msgs["RFC 4475 "+filepath.Base(filepath.Dir(f))+"/"+filepath.Base(f)] = b
	}
	if len(files) < 49 {
		t.Fatalf("%d RFC 4475 messages in %s, want 49 or more", len(files), dir)
	}
	for name, b := range extremes() {
		msgs["M6 "+name] = b
	}
	attacker, err := netnstest.Do(lan, func() (*net.UDPConn, error) {
		return net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(198, 18, 0, 50), Port: 5070})
	})
	if err != nil {
		t.Fatal(err)
	}
	defer attacker.Close()
	var before struct {
		SIP struct {
			Received uint64            `json:"received"`
			Dropped  map[string]uint64 `json:"dropped"`
		} `json:"sip"`
	}
	d.api("GET", "/api/status", "", &before)
	sent := 0
	for name, b := range msgs {
		for _, to := range []*net.UDPAddr{{IP: net.IPv4(198, 18, 0, 2), Port: 5060}, {IP: net.IPv4(224, 0, 1, 75), Port: 5060}} {
			if _, err := attacker.WriteToUDP(b, to); err != nil {
				if len(b) > 65000 { // too big for this path's MTU handling: the kernel refuses it, nothing to test
					continue
				}
				t.Errorf("%s to %s: %v", name, to, err)
				continue
			}
			sent++
			// A replay, not a flood (the flood tests are elsewhere).
			time.Sleep(20 * time.Millisecond)
		}
	}
	// Replies: none. Collect for 2 s after the last packet.
	attacker.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 65536)
	for {
		n, from, err := attacker.ReadFromUDP(buf)
		if err != nil {
			break
		}
		t.Errorf("reply from %s: %.120q", from, buf[:n])
	}
	after := before
	after.SIP.Dropped = nil // a map of its own: the copy would share before's
	d.api("GET", "/api/status", "", &after)
	var phones []any
	d.api("GET", "/api/phones", "", &phones)
	if len(phones) != 0 {
		t.Errorf("%d phones recorded from torture and extremes: %v", len(phones), phones)
	}
	got := after.SIP.Received - before.SIP.Received
	t.Logf("MEASURED: %d messages (%d RFC 4475, %d M6) sent %d times to unicast and the group; pnpd counted %d received, drops by reason %v; %d phones recorded",
		len(msgs), len(files), len(msgs)-len(files), sent, got, after.SIP.Dropped, len(phones))
	if got < uint64(sent) || after.SIP.Dropped["rate_limited"] != before.SIP.Dropped["rate_limited"] {
		t.Fatalf("pnpd counted %d of %d datagrams, %d rate-limited: not every message reached the parser", got, sent, after.SIP.Dropped["rate_limited"])
	}
	// Still working: a real phone is answered and recorded.
	ph := newNSPhone(t, lan, "peer0", "198.18.0.1", phoneMAC)
	if !ph.subscribe(5 * time.Second) {
		t.Fatal("after the torture, a real SUBSCRIBE got no 200")
	}
	d.waitStatus("the real phone recorded", 10*time.Second, func(boxStatus) bool {
		phones = nil
		d.api("GET", "/api/phones", "", &phones)
		return len(phones) == 1
	})
}
