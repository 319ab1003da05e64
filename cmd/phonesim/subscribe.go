package main

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"strings"
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
