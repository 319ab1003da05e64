package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/pnpbox/pnpbox/appliance"
)

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
			r.Got200Try, r.Got200Ms, r.Got200Us = boot.okTry, ms(boot.okAfter), us(boot.okAfter)
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

func us(d time.Duration) *int64 {
	v := d.Microseconds()
	return &v
}
