package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/pnpbox/pnpbox/appliance"
)

const (
	// pnpDomain is the host part of a Grandstream PnP Request-URI, From and
	// To: sip.mcast.net, whatever address the SUBSCRIBE is really sent to.
	pnpDomain = "224.0.1.75"
	// allowMethods is the captured GRP2612W's Allow header.
	allowMethods = "INVITE, ACK, OPTIONS, CANCEL, BYE, SUBSCRIBE, NOTIFY, INFO, REFER, UPDATE, MESSAGE"
	// firstCSeq is the CSeq the captured GRP2612W starts its SUBSCRIBE at.
	firstCSeq = 20000
	// maxConfigSize bounds a config download; real files are a few KiB.
	maxConfigSize = 1 << 20
)

// subscribeRequest is one PnP SUBSCRIBE as a Grandstream puts it on the wire.
type subscribeRequest struct {
	mac      appliance.MAC
	model    string
	firmware string
	local    netip.AddrPort // Via sent-by and Contact
	callID   string
	tag      string // From tag
	branch   string // Via branch, with the z9hG4bK cookie
	cseq     uint32
}

// marshal writes the SUBSCRIBE by hand rather than through sipgo, which
// orders headers its own way: the header set and order are those of the
// GRP2612W capture in reference/grandstream-pnp.md §3.1, so the box is tested
// against what phones really send.
func (s subscribeRequest) marshal() []byte {
	aor := "sip:MAC%3A" + s.mac.String() + "@" + pnpDomain
	var b bytes.Buffer
	line := func(format string, args ...any) {
		fmt.Fprintf(&b, format, args...)
		b.WriteString("\r\n")
	}
	line("SUBSCRIBE %s SIP/2.0", aor)
	line("Via: SIP/2.0/UDP %s;branch=%s;rport", s.local, s.branch)
	line("From: <%s>;tag=%s", aor, s.tag)
	line("To: <%s>", aor)
	line("Call-ID: %s", s.callID)
	line("CSeq: %d SUBSCRIBE", s.cseq)
	line("Contact: <sip:%s>", s.local)
	line("Max-Forwards: 70")
	line("User-Agent: Grandstream %s %s", s.model, s.firmware)
	line("Expires: 0")
	line("Supported: replaces, path")
	line(`Event: ua-profile;profile-type="device";vendor="Grandstream";model="%s";version="%s"`, s.model, s.firmware)
	line("Accept: application/url")
	line("Allow: %s", allowMethods)
	line("Content-Length: 0")
	b.WriteString("\r\n")
	return b.Bytes()
}

// callIDHost encodes an IPv4 address the way the captured GRP2612W's Call-ID
// host does: each digit d becomes the letter 'A'+d, dots stay
// (490431573-5080-1@BJC.BGI.IG.DA is 192.168.86.30).
func callIDHost(ip netip.Addr) string {
	return strings.Map(func(r rune) rune {
		if '0' <= r && r <= '9' {
			return 'A' + (r - '0')
		}
		return r
	}, ip.String())
}

// phone is one simulated GXP. readLoop owns the socket's read side and
// answers requests; run does the rest and is the only user of rng. They
// share the fields below mu.
type phone struct {
	mac      appliance.MAC
	model    string
	firmware string
	conn     *net.UDPConn
	local    netip.AddrPort // bound address, with the real port under -port 0
	target   netip.AddrPort // where SUBSCRIBEs go

	tries    int
	interval time.Duration
	newTx    bool    // a new CSeq and branch per try instead of retransmitting
	loss     float64 // probability of ignoring a received response
	start    time.Duration
	reboot   time.Duration
	linger   time.Duration

	rng  *rand.Rand
	http *http.Client
	now  func() time.Time
	log  *slog.Logger

	responses chan *sip.Response // readLoop → run
	notified  chan notification  // the NOTIFY acted on; sent at most once

	mu         sync.Mutex
	subs       map[string]string // Call-ID → our From tag, for every SUBSCRIBE sent
	answers    map[string]answer // NOTIFY transaction → our answer, for retransmissions
	state      notifyState
	lastReject string // the last NOTIFY we refused, before one was acted on
	res        Result
	errs       []string
}

// notifyState is where the phone is with respect to NOTIFYs.
type notifyState int

const (
	waitingNotify notifyState = iota // acts on the first acceptable NOTIFY
	actedNotify                      // has acted on one; more are counted as extra
	stopped                          // run has returned; more are counted as extra
)

type notification struct {
	url string
	at  time.Time
}

type answer struct {
	b   []byte
	dst netip.AddrPort
}

// newPhone makes phone i of a fleet around a bound socket.
func newPhone(o *options, i int, conn *net.UDPConn, log *slog.Logger) *phone {
	local := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	local = netip.AddrPortFrom(local.Addr().Unmap(), local.Port())
	p := &phone{
		mac:       o.mac(i),
		model:     o.models[i%len(o.models)],
		firmware:  o.firmware,
		conn:      conn,
		local:     local,
		target:    o.target,
		tries:     o.tries,
		interval:  o.interval,
		newTx:     o.newTx,
		loss:      o.loss,
		reboot:    o.reboot,
		linger:    o.linger,
		rng:       rand.New(rand.NewPCG(o.seed, uint64(i))),
		http:      newHTTPClient(local.Addr(), o.httpTimeout),
		now:       time.Now,
		responses: make(chan *sip.Response, 16),
		notified:  make(chan notification, 1),
		subs:      make(map[string]string),
		answers:   make(map[string]answer),
	}
	if o.n > 1 {
		p.start = o.spread * time.Duration(i) / time.Duration(o.n)
	}
	p.log = log.With("mac", p.mac, "ip", local.Addr(), "model", p.model)
	p.res = Result{MAC: p.mac, Model: p.model, Firmware: p.firmware, IP: local.Addr(), SIPPort: int(local.Port())}
	return p
}

// newHTTPClient gives each phone its own transport, dialling from the
// phone's address as a real phone's requests come from it. Keep-alive is off
// so a fleet of 500 holds no idle connections.
func newHTTPClient(ip netip.Addr, timeout time.Duration) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip.AsSlice()}, Timeout: timeout}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			DialContext:        d.DialContext,
			DisableKeepAlives:  true,
			DisableCompression: true,
			// Factory-default Grandstreams do not validate the server's
			// certificate (P8463 "Validate Server Certificates" defaults to
			// 0, reference/grandstream-pnp.md §4.1 item 8).
			TLSClientConfig:       &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // see above
			TLSHandshakeTimeout:   timeout,
			ResponseHeaderTimeout: timeout,
		},
	}
}

// run is the phone's life: boot, wait for the NOTIFY, download, reboot,
// download again. It returns when the phone has an outcome or ctx ends.
func (p *phone) run(ctx context.Context) {
	defer func() {
		p.mu.Lock()
		p.state = stopped
		p.mu.Unlock()
	}()
	if !sleep(ctx, p.start) {
		p.fail("no NOTIFY (%s before the first boot)", stopCause(ctx))
		return
	}

	boot := p.subscribe(ctx)
	p.record(func(r *Result) {
		r.SubscribeTries, r.SubscribeStatus, r.Got200 = boot.tries, boot.status, boot.ok
		if boot.ok {
			r.Got200Try, r.Got200Ms = boot.okTry, ms(boot.okAfter)
		}
		r.ResponsesLost += boot.lost
	})
	switch {
	case boot.sent == 0 && boot.sendErr != "":
		p.fail("send SUBSCRIBE: %s", boot.sendErr)
		return
	case boot.status == 500:
		// A Grandstream gives up on PnP when the server says 500 [GS-PNP].
		p.fail("SUBSCRIBE refused: %s", boot.reason)
		return
	}
	p.log.Debug("booted", "tries", boot.tries, "status", boot.status)

	var n notification
	select {
	case n = <-p.notified:
	case <-ctx.Done():
		p.fail("%s", p.noNotify(boot))
		return
	}
	if boot.ok {
		p.record(func(r *Result) { r.NotifyMs = ms(n.at.Sub(boot.okAt)) })
	}
	p.log.Debug("notified", "url", n.url)

	body1, cfg, err := p.firstDownload(ctx, n.url)
	if err != nil {
		p.fail("first download: %s", p.why(ctx, err))
		return
	}
	configURL, err := cfg.serverURL(p.mac)
	p.record(func(r *Result) { r.FirstDownloadOK, r.ConfigURL = true, configURL })
	if err != nil {
		p.fail("config: %v", err)
		return
	}

	if !sleep(ctx, p.reboot) {
		p.fail("%s before the reboot", stopCause(ctx))
		return
	}
	// Phones beacon on every boot (GSTOOLS); the box must answer but must
	// not send a second NOTIFY to a phone that already has its config.
	again := p.subscribe(ctx)
	p.record(func(r *Result) {
		r.RebootSubscribeTries, r.RebootGot200 = again.tries, again.ok
		r.ResponsesLost += again.lost
	})

	body2, err := p.get(ctx, configURL)
	if err == nil {
		var c gsConfig
		if c, err = parseConfig(body2); err == nil {
			err = c.check(p.mac)
		}
	}
	if err != nil {
		p.fail("second download: %s", p.why(ctx, err))
		return
	}
	same := bytes.Equal(body1, body2)
	p.record(func(r *Result) { r.SecondDownloadOK, r.Identical = true, same })
	if !same {
		p.fail("second download differs from the first (%d bytes, then %d)", len(body1), len(body2))
	}
	p.log.Debug("done", "identical", same)
	// Stay on the air a little so a NOTIFY the box should not send is seen.
	sleep(ctx, p.linger)
}

// subscribeResult is how one boot's SUBSCRIBE went.
type subscribeResult struct {
	tries   int    // SUBSCRIBEs sent (or tried to send)
	sent    int    // of which the socket took
	sendErr string // the last send error
	status  int    // 200 or 500 that ended the tries, else the last status seen, 0 for none
	reason  string // status and reason phrase of that response
	ok      bool   // got a 200
	okTry   int
	okAfter time.Duration // from the first try to the 200
	okAt    time.Time
	lost    int // responses ignored by -loss
}

// subscribe beacons once, as a booting Grandstream does: up to p.tries
// SUBSCRIBEs p.interval apart, stopping on a 200 or a 500 and ignoring
// everything else, 3xx and 4xx included [GS-PNP; reference §4.1 item 2].
// Each call is a new boot: new Call-ID, From tag and branch.
func (p *phone) subscribe(ctx context.Context) subscribeResult {
	req := subscribeRequest{
		mac:      p.mac,
		model:    p.model,
		firmware: p.firmware,
		local:    p.local,
		callID:   fmt.Sprintf("%d-%d-1@%s", p.rng.Uint32(), p.local.Port(), callIDHost(p.local.Addr())),
		tag:      fmt.Sprint(p.rng.Uint32()),
		branch:   p.newBranch(),
		cseq:     firstCSeq,
	}
	p.mu.Lock()
	p.subs[req.callID] = req.tag
	p.mu.Unlock()
	// Drop late answers to an earlier boot, so they cannot crowd out ours.
	for len(p.responses) > 0 {
		<-p.responses
	}

	var r subscribeResult
	branches := make(map[uint32]string) // CSeq → branch, of every try
	start := p.now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for try := 1; try <= p.tries; try++ {
		if try > 1 && p.newTx {
			req.cseq++
			req.branch = p.newBranch()
		}
		branches[req.cseq] = req.branch
		r.tries = try
		if _, err := p.conn.WriteToUDPAddrPort(req.marshal(), p.target); err != nil {
			r.sendErr = err.Error()
			p.log.Debug("send SUBSCRIBE", "try", try, "err", err)
		} else {
			r.sent++
		}
		timer.Reset(p.interval)
	wait:
		for {
			select {
			case <-ctx.Done():
				return r
			case <-timer.C:
				break wait
			case res := <-p.responses:
				if !answers(res, req.callID, branches) {
					continue
				}
				if p.loss > 0 && p.rng.Float64() < p.loss {
					r.lost++
					continue
				}
				r.status = res.StatusCode
				r.reason = fmt.Sprintf("%d %s", res.StatusCode, res.Reason)
				switch res.StatusCode {
				case 200:
					r.ok, r.okTry, r.okAt = true, try, p.now()
					r.okAfter = r.okAt.Sub(start)
					return r
				case 500:
					return r
				}
			}
		}
	}
	return r
}

func (p *phone) newBranch() string { return fmt.Sprintf("z9hG4bK%d", p.rng.Uint32()) }

// answers reports whether res answers one of the tries of the SUBSCRIBE with
// this Call-ID (same CSeq and, for that CSeq, the same branch).
func answers(res *sip.Response, callID string, branches map[uint32]string) bool {
	id, cseq, via := res.CallID(), res.CSeq(), res.Via()
	if id == nil || cseq == nil || via == nil || id.Value() != callID || cseq.MethodName != sip.SUBSCRIBE {
		return false
	}
	want, ok := branches[cseq.SeqNo]
	branch, _ := via.Params.Get("branch")
	return ok && branch == want
}

// readLoop reads the phone's socket until it is closed: responses go to
// run, requests are answered here.
func (p *phone) readLoop() {
	parser := sip.NewParser()
	buf := make([]byte, 64<<10)
	for {
		n, src, err := p.conn.ReadFromUDPAddrPort(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			p.log.Debug("read", "err", err)
			continue
		}
		msg, err := parser.ParseSIP(bytes.Clone(buf[:n]))
		if err != nil {
			p.log.Debug("unparsable SIP message", "src", src, "err", err)
			continue
		}
		switch m := msg.(type) {
		case *sip.Response:
			select {
			case p.responses <- m:
			default: // run is not listening (between boots) and the queue is full
			}
		case *sip.Request:
			src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
			m.SetSource(src.String())
			if a, ok := p.handleRequest(m, src); ok {
				if _, err := p.conn.WriteToUDPAddrPort(a.b, a.dst); err != nil {
					p.log.Debug("send answer", "err", err)
				}
			}
		}
	}
}

// handleRequest answers a request that came in from src. A NOTIFY is
// judged once per transaction; a retransmission (same branch, Call-ID and
// CSeq) gets the same answer and is not acted on again.
func (p *phone) handleRequest(req *sip.Request, src netip.AddrPort) (answer, bool) {
	via := req.Via()
	if via == nil || req.CallID() == nil || req.CSeq() == nil || req.From() == nil || req.To() == nil || req.IsAck() {
		return answer{}, false // nothing a response could be matched to
	}
	if req.Method != sip.NOTIFY {
		res := p.response(req, 405, "Method Not Allowed")
		res.AppendHeader(sip.NewHeader("Allow", allowMethods))
		return answer{b: []byte(res.String()), dst: destination(res, src)}, true
	}
	branch, _ := via.Params.Get("branch")
	key := branch + "|" + req.CallID().Value() + "|" + req.CSeq().Value()

	p.mu.Lock()
	defer p.mu.Unlock()
	if a, ok := p.answers[key]; ok {
		return a, true
	}
	v := judgeNotify(req, p.subs)
	res := p.response(req, v.code, v.reason)
	switch v.code {
	case 415:
		res.AppendHeader(sip.NewHeader("Accept", "application/url")) // RFC 3261 §21.4.13
	case 489:
		res.AppendHeader(sip.NewHeader("Allow-Events", "ua-profile")) // RFC 6665 §8.2.2
	}
	a := answer{b: []byte(res.String()), dst: destination(res, src)}
	p.answers[key] = a

	switch {
	case p.state != waitingNotify:
		p.res.ExtraNotifies++
		p.log.Debug("extra NOTIFY", "status", v.code)
	case v.code == 200:
		p.state = actedNotify
		p.res.Notify, p.res.NotifyStatus = true, 200
		p.res.URL = strings.TrimSpace(string(req.Body()))
		p.notified <- notification{url: p.res.URL, at: p.now()}
	default:
		p.res.Notify, p.res.NotifyStatus = true, v.code
		p.lastReject = fmt.Sprintf("%d %s (%s)", v.code, v.reason, v.detail)
		p.log.Debug("refused NOTIFY", "status", v.code, "detail", v.detail)
	}
	return a, true
}

// response builds the answer to req with sipgo, which copies Via, From, To,
// Call-ID and CSeq, adds a To tag when there is none and fills rport and
// received (RFC 3261 §8.2.6, RFC 3581).
func (p *phone) response(req *sip.Request, code int, reason string) *sip.Response {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	res.AppendHeader(sip.NewHeader("User-Agent", "Grandstream "+p.model+" "+p.firmware))
	return res
}

// destination is where a response goes: sipgo's choice (the request's
// source, as for a UAS on one UDP socket), else the packet's source.
func destination(res *sip.Response, src netip.AddrPort) netip.AddrPort {
	if d, err := netip.ParseAddrPort(res.Destination()); err == nil {
		return d
	}
	return src
}

type verdict struct {
	code   int
	reason string
	detail string
}

// judgeNotify decides the answer to a NOTIFY. subs maps the Call-IDs of our
// SUBSCRIBEs to our From tags.
func judgeNotify(req *sip.Request, subs map[string]string) verdict {
	event := headerValue(req, "Event", "o")
	if pkg, _, _ := strings.Cut(event, ";"); strings.TrimSpace(pkg) != "ua-profile" {
		return verdict{489, "Bad Event", fmt.Sprintf("Event %q", event)}
	}
	ctype := headerValue(req, "Content-Type", "c")
	if mt, _, _ := strings.Cut(ctype, ";"); !strings.EqualFold(strings.TrimSpace(mt), "application/url") {
		return verdict{415, "Unsupported Media Type", fmt.Sprintf("Content-Type %q", ctype)}
	}
	tag, ok := subs[req.CallID().Value()]
	if !ok {
		return verdict{481, "Call/Transaction Does Not Exist", fmt.Sprintf("unknown Call-ID %q", req.CallID().Value())}
	}
	if toTag, _ := req.To().Params.Get("tag"); toTag != tag {
		return verdict{481, "Call/Transaction Does Not Exist", fmt.Sprintf("To tag %q is not our From tag %q", toTag, tag)}
	}
	return verdict{200, "OK", ""}
}

// headerValue returns the first of the named headers (long or compact form).
func headerValue(req *sip.Request, names ...string) string {
	for _, n := range names {
		if h := req.GetHeader(n); h != nil {
			return h.Value()
		}
	}
	return ""
}

// noNotify says why the phone has no NOTIFY to act on.
func (p *phone) noNotify(boot subscribeResult) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.lastReject != "":
		return "NOTIFY refused: " + p.lastReject
	case boot.ok:
		return "no NOTIFY"
	case boot.status != 0:
		return fmt.Sprintf("no NOTIFY (no 200 to %d SUBSCRIBEs, last answer %s)", boot.tries, boot.reason)
	case boot.lost > 0:
		return fmt.Sprintf("no NOTIFY (no 200 to %d SUBSCRIBEs, %d responses ignored by -loss)", boot.tries, boot.lost)
	default:
		return fmt.Sprintf("no NOTIFY (no answer to %d SUBSCRIBEs)", boot.tries)
	}
}

// firstDownload fetches the NOTIFY body URL. A file URL is fetched as it is;
// a folder URL (ending in /) is searched for the names a GXP21xx asks for, in
// its order (GS-GXP21-ADMIN, reference/grandstream-pnp.md §1.4, §1.5).
func (p *phone) firstDownload(ctx context.Context, raw string) ([]byte, gsConfig, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, gsConfig{}, fmt.Errorf("NOTIFY body %q is not an http(s) URL", raw)
	}
	candidates := []string{raw}
	if strings.HasSuffix(u.Path, "/") {
		mac := p.mac.Lower()
		candidates = candidates[:0]
		for _, name := range []string{"cfg" + mac, "cfg" + mac + ".xml", "cfg" + strings.ToLower(p.model) + ".xml", "cfg.xml"} {
			candidates = append(candidates, u.JoinPath(name).String())
		}
	}
	var body []byte
	for _, c := range candidates {
		if body, err = p.get(ctx, c); !errors.Is(err, errStatus) {
			break
		}
	}
	if err != nil {
		return nil, gsConfig{}, err
	}
	cfg, err := parseConfig(body)
	if err == nil {
		err = cfg.check(p.mac)
	}
	return body, cfg, err
}

var errStatus = errors.New("HTTP status not 200")

// get downloads one file the way the phone does.
func (p *phone) get(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	// The UA phones send, as FusionPBX and Wazo match it (§1.4).
	req.Header.Set("User-Agent", fmt.Sprintf("Grandstream Model HW %s SW %s DevId %s", p.model, p.firmware, p.mac.Lower()))
	resp, err := p.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %w: %s", u, errStatus, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	if len(body) > maxConfigSize {
		return nil, fmt.Errorf("GET %s: larger than %d bytes", u, maxConfigSize)
	}
	return body, nil
}

// why turns an error into report text, naming the stop cause when the run's
// context ended rather than the error it caused.
func (p *phone) why(ctx context.Context, err error) string {
	if ctx.Err() != nil {
		return stopCause(ctx)
	}
	return err.Error()
}

// record changes the phone's report.
func (p *phone) record(change func(*Result)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	change(&p.res)
}

// fail adds a reason to the phone's report.
func (p *phone) fail(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.errs = append(p.errs, fmt.Sprintf(format, args...))
}

// result is the phone's outcome so far.
func (p *phone) result() Result {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.res
	errs := p.errs
	if r.ExtraNotifies > 0 {
		errs = append(errs[:len(errs):len(errs)], fmt.Sprintf("%d extra NOTIFY (after the one acted on, or after giving up)", r.ExtraNotifies))
	}
	r.Error = strings.Join(errs, "; ")
	r.Provisioned = r.FirstDownloadOK && r.SecondDownloadOK && r.Identical && r.ExtraNotifies == 0
	return r
}

// sleep waits for d or ctx, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func ms(d time.Duration) *int64 {
	v := d.Milliseconds()
	return &v
}
