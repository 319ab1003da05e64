package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// fakeBox is a pnpbox stand-in on loopback: it answers SUBSCRIBEs, sends
// NOTIFYs and serves config files, and reports what it saw on channels.
type fakeBox struct {
	t    *testing.T
	conn *net.UDPConn
	srv  *httptest.Server

	// Set before start.
	answer      func(n int) int                // status for the nth try of a SUBSCRIBE; 0 = stay silent. Default 200.
	notify      bool                           // NOTIFY each MAC after its first 200
	notifyAgain bool                           // NOTIFY every later boot too (a bug phones must report)
	folderURL   bool                           // NOTIFY a folder URL instead of a file URL
	config      func(mac string, n int) string // the nth download of a phone's config. Default configFor P237 = provPath.

	subscribes chan received      // every SUBSCRIBE, raw and parsed
	notifyRes  chan *sip.Response // every answer to a NOTIFY
	downloads  chan download      // every config request

	mu       sync.Mutex
	tries    map[string]int  // Call-ID → SUBSCRIBEs seen
	notified map[string]bool // MAC → has had a NOTIFY
	fetches  map[string]int  // MAC (lower) → downloads
}

type received struct {
	raw []byte
	req *sip.Request
	src netip.AddrPort
}

type download struct {
	path      string
	userAgent string
	remote    netip.Addr
}

func newFakeBox(t *testing.T) *fakeBox {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	// Room for a fleet's first burst of SUBSCRIBEs (capped by net.core.rmem_max).
	_ = conn.SetReadBuffer(4 << 20)
	b := &fakeBox{
		t:          t,
		conn:       conn,
		answer:     func(int) int { return 200 },
		subscribes: make(chan received, 4096),
		notifyRes:  make(chan *sip.Response, 4096),
		downloads:  make(chan download, 4096),
		tries:      make(map[string]int),
		notified:   make(map[string]bool),
		fetches:    make(map[string]int),
	}
	b.config = func(mac string, _ int) string { return configFor(mac, b.provPath()) }
	b.srv = httptest.NewServer(http.HandlerFunc(b.serveHTTP))
	t.Cleanup(func() {
		conn.Close()
		b.srv.Close()
	})
	return b
}

func (b *fakeBox) addr() netip.AddrPort { return b.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// start begins answering; the behaviour fields must be set by then.
func (b *fakeBox) start() {
	go func() {
		p := sip.NewParser()
		buf := make([]byte, 64<<10)
		for {
			n, src, err := b.conn.ReadFromUDPAddrPort(buf)
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err != nil {
				continue
			}
			raw := append([]byte(nil), buf[:n]...)
			msg, err := p.ParseSIP(raw)
			if err != nil {
				b.t.Errorf("box: unparsable message from %s: %v\n%s", src, err, raw)
				continue
			}
			switch m := msg.(type) {
			case *sip.Request:
				m.SetSource(src.String())
				b.onSubscribe(received{raw: raw, req: m, src: src})
			case *sip.Response:
				b.notifyRes <- m
			}
		}
	}()
}

func (b *fakeBox) onSubscribe(r received) {
	b.subscribes <- r
	b.mu.Lock()
	callID := r.req.CallID().Value()
	b.tries[callID]++
	code := b.answer(b.tries[callID])
	mac := strings.TrimPrefix(r.req.Recipient.User, "MAC%3A")
	notify := code == 200 && b.notify && (!b.notified[mac] || b.notifyAgain && b.tries[callID] == 1)
	if notify {
		b.notified[mac] = true
	}
	b.mu.Unlock()
	if code == 0 {
		return
	}
	res := sip.NewResponseFromRequest(r.req, code, "Whatever", nil)
	res.AppendHeader(sip.NewHeader("Expires", "0"))
	b.send([]byte(res.String()), r.src)
	if notify {
		url := b.srv.URL + "/p/tok/cfg" + mac
		if b.folderURL {
			url = b.srv.URL + "/p/tok/"
		}
		b.send(notifyFor(r.req, res, b.addr(), url, ""), contactOf(b.t, r.req))
	}
}

func (b *fakeBox) send(msg []byte, to netip.AddrPort) {
	if _, err := b.conn.WriteToUDPAddrPort(msg, to); err != nil {
		b.t.Errorf("box: send to %s: %v", to, err)
	}
}

// notifyFor builds the NOTIFY pnpbox sends inside the subscription that sub
// and its 200 ok made (DESIGN.md step 3; reference §4.1 item 3). extra
// headers, if any, are added as they are.
func notifyFor(sub *sip.Request, ok *sip.Response, from netip.AddrPort, url, extra string) []byte {
	fromTag, _ := ok.To().Params.Get("tag")
	toTag, _ := sub.From().Params.Get("tag")
	return []byte("NOTIFY " + sub.Contact().Address.String() + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + from.String() + ";branch=" + sip.GenerateBranch() + ";rport\r\n" +
		"From: <" + sub.To().Address.String() + ">;tag=" + fromTag + "\r\n" +
		"To: <" + sub.From().Address.String() + ">;tag=" + toTag + "\r\n" +
		"Call-ID: " + sub.CallID().Value() + "\r\n" +
		"CSeq: 1 NOTIFY\r\n" +
		"Contact: <sip:" + from.String() + ">\r\n" +
		"Max-Forwards: 70\r\n" +
		"Event: ua-profile\r\n" +
		"Subscription-State: terminated;reason=timeout\r\n" +
		"Content-Type: application/url\r\n" +
		extra +
		fmt.Sprintf("Content-Length: %d\r\n\r\n", len(url)) + url)
}

func contactOf(t *testing.T, req *sip.Request) netip.AddrPort {
	t.Helper()
	c := req.Contact()
	if c == nil {
		t.Fatalf("SUBSCRIBE without Contact:\n%s", req)
	}
	ap, err := netip.ParseAddrPort(fmt.Sprintf("%s:%d", c.Address.Host, c.Address.Port))
	if err != nil {
		t.Fatalf("Contact %s: %v", c.Address.String(), err)
	}
	return ap
}

// serveHTTP serves every phone's config under /p/tok/ (the NOTIFY URL) and
// /prov/ (P237), under any of the names phones ask for, as pnpbox does.
func (b *fakeBox) serveHTTP(w http.ResponseWriter, r *http.Request) {
	remote, _ := netip.ParseAddrPort(r.RemoteAddr)
	b.downloads <- download{path: r.URL.Path, userAgent: r.UserAgent(), remote: remote.Addr()}
	mac, ok := strings.CutPrefix(strings.ToLower(path.Base(r.URL.Path)), "cfg")
	mac = strings.TrimSuffix(mac, ".xml")
	inDir := strings.HasPrefix(r.URL.Path, "/p/tok/") || strings.HasPrefix(r.URL.Path, "/prov/")
	if !inDir || !ok || len(mac) != 12 {
		http.NotFound(w, r)
		return
	}
	b.mu.Lock()
	b.fetches[mac]++
	n := b.fetches[mac]
	b.mu.Unlock()
	w.Header().Set("Content-Type", "application/xml")
	fmt.Fprint(w, b.config(mac, n))
}

// provPath is P237 for this box: host:port/prov, without a scheme.
func (b *fakeBox) provPath() string { return strings.TrimPrefix(b.srv.URL, "http://") + "/prov" }

// next waits for the next value on ch, failing the test after a generous
// deadline.
func next[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s within 10s", what)
		panic("unreachable")
	}
}
