package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/emiago/sipgo/sip"
)

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
