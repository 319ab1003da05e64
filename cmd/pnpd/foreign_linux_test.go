//go:build linux

package main

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pnpbox/pnpbox/internal/netnstest"
)

// TestForeignResponderOnGroup: a second host on the LAN multicasts a SIP
// 200 OK and a NOTIFY to 224.0.1.75:5060, as another Plug-and-Play
// responder would; pnpd counts them as foreign_on_group, answers neither,
// and /api/alerts lists one foreign_responder alert naming the host
// (one, although it sent several).
func TestForeignResponderOnGroup(t *testing.T) {
	netnstest.Require(t)
	box, lan := netnstest.New(t, "pnpbox"), netnstest.New(t, "pnplan")
	netnstest.Cable(t, box, "lan0", lan, "peer0")
	lan.IP(t, "addr", "add", "198.18.0.66/24", "dev", "peer0")
	d := startInNS(t, box, "-iface", "lan0", "-net", "static", "-addr", "198.18.0.2/24")
	d.waitStatus("joined", 10*time.Second, func(st boxStatus) bool { return st.Joined })

	rogue, err := netnstest.Do(lan, func() (*net.UDPConn, error) {
		return net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(198, 18, 0, 66), Port: 5060})
	})
	if err != nil {
		t.Fatal(err)
	}
	defer rogue.Close()
	crlf := func(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }
	ok200 := crlf("SIP/2.0 200 OK\nVia: SIP/2.0/UDP 198.18.0.50:5060;branch=z9hG4bKphone\nFrom: <sip:MAC%3A000B82E00001@224.0.1.75>;tag=1\nTo: <sip:MAC%3A000B82E00001@224.0.1.75>;tag=rogue\nCall-ID: boot-1\nCSeq: 1 SUBSCRIBE\nExpires: 0\nContent-Length: 0\n\n")
	notify := crlf("NOTIFY sip:198.18.0.50:5060 SIP/2.0\nVia: SIP/2.0/UDP 198.18.0.66:5060;branch=z9hG4bKrogue\nFrom: <sip:MAC%3A000B82E00001@224.0.1.75>;tag=rogue\nTo: <sip:MAC%3A000B82E00001@224.0.1.75>;tag=1\nCall-ID: boot-1\nCSeq: 1 NOTIFY\nEvent: ua-profile\nSubscription-State: terminated\nContent-Type: application/url\nContent-Length: 31\n\nhttp://198.18.0.66/evil/cfg.xml")
	group := &net.UDPAddr{IP: net.IPv4(224, 0, 1, 75), Port: 5060}
	for range 3 {
		for _, b := range [][]byte{ok200, notify} {
			if _, err := rogue.WriteToUDP(b, group); err != nil {
				t.Fatal(err)
			}
		}
	}

	type alert struct {
		Kind    string `json:"kind"`
		Message string `json:"message"`
	}
	var alerts []alert
	deadline := time.Now().Add(10 * time.Second)
	for {
		alerts = nil
		d.api("GET", "/api/alerts", "", &alerts)
		if len(alerts) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(alerts) != 1 || alerts[0].Kind != "foreign_responder" || !strings.Contains(alerts[0].Message, "198.18.0.66") {
		t.Fatalf("alerts %+v, want one foreign_responder naming 198.18.0.66", alerts)
	}
	var st struct {
		SIP struct {
			Dropped map[string]uint64 `json:"dropped"`
		} `json:"sip"`
	}
	d.api("GET", "/api/status", "", &st)
	if n := st.SIP.Dropped["foreign_on_group"]; n != 6 {
		t.Errorf("foreign_on_group %d, want 6 (drops %v)", n, st.SIP.Dropped)
	}
	rogue.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	buf := make([]byte, 65536)
	if n, from, err := rogue.ReadFromUDP(buf); err == nil {
		t.Errorf("pnpd answered the foreign host (%s): %.120q", from, buf[:n])
	}
	t.Logf("MEASURED: 3 responses and 3 NOTIFYs to the group from another host: %d counted foreign_on_group, %d alert(s)", st.SIP.Dropped["foreign_on_group"], len(alerts))
}
