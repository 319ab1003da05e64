package pnp

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/pnpbox/pnpbox/appliance"
)

// ErrTimeout is returned by a NOTIFY transaction that got no final
// response before Timer F (64·T1, 32 s by default).
var ErrTimeout = errors.New("no final response (RFC 3261 Timer F)")

// ErrNotOnLAN is returned when a phone's address is on no served subnet:
// the box only ever sends to phones on its own LAN.
var ErrNotOnLAN = errors.New("not on a served subnet")

// SendNotify sends the NOTIFY carrying url inside dialog d with CSeq cseq, and
// waits for the phone's final response, retransmitting per RFC 3261
// §17.1.2.2 (Timer E from T1 doubling to T2; T2 once a provisional arrived)
// until Timer F. The dialog's LocalAddr is refreshed to the box's current
// address on the phone's subnet, so an address change since the SUBSCRIBE
// is followed. The outcome is returned, never an error: the caller records
// it on the phone.
func (s *Server) SendNotify(ctx context.Context, d appliance.Dialog, cseq uint32, url string) appliance.NotifyOutcome {
	out := appliance.NotifyOutcome{Time: time.Now(), URL: url}
	fail := func(r appliance.NotifyResult, err error) appliance.NotifyOutcome {
		out.Result, out.Detail = r, err.Error()
		s.stats.notifyFailed.Add(1)
		return out
	}
	local, _, ok := s.LocalAddrFor(d.RemoteAddr.Addr())
	if !d.RemoteAddr.IsValid() || !ok {
		return fail(appliance.NotifyError, fmt.Errorf("phone address %s: %w", d.RemoteAddr, ErrNotOnLAN))
	}
	d.LocalAddr = local
	branch := sip.GenerateBranch()
	msg, err := BuildNotify(NotifyRequest{Dialog: d, CSeq: cseq, Branch: branch, LocalPort: s.cfg.Port, URL: url, Server: s.cfg.Name})
	if err != nil {
		return fail(appliance.NotifyError, err)
	}
	ch := make(chan *sip.Response, 4)
	s.pendMu.Lock()
	s.pending[branch] = ch
	s.pendMu.Unlock()
	defer func() {
		s.pendMu.Lock()
		delete(s.pending, branch)
		s.pendMu.Unlock()
	}()

	s.stats.notifySent.Add(1)
	send := func() error {
		_, err := s.uc.WriteToUDPAddrPort(msg, d.RemoteAddr)
		return err
	}
	res, err := clientTxn(ctx, send, ch, s.cfg.T1, s.cfg.T2, func() { s.stats.notifyRetrans.Add(1) })
	switch {
	case errors.Is(err, ErrTimeout):
		return fail(appliance.NotifyTimeout, err)
	case err != nil:
		return fail(appliance.NotifyError, err)
	}
	out.Code = res.StatusCode
	if res.StatusCode >= 300 {
		out.Detail = fmt.Sprintf("%d %s", res.StatusCode, res.Reason)
		out.Result = appliance.NotifyRefused
		s.stats.notifyFailed.Add(1)
		return out
	}
	out.Result = appliance.NotifyOK
	s.stats.notifyOK.Add(1)
	return out
}

// clientTxn runs the timers of a non-INVITE client transaction over an
// unreliable transport (RFC 3261 §17.1.2.2, figure 6): send, retransmit on
// Timer E (T1, doubling, capped at T2; T2 after a provisional response)
// until a final response arrives or Timer F (64·T1) fires.
func clientTxn(ctx context.Context, send func() error, responses <-chan *sip.Response, t1, t2 time.Duration, retransmitted func()) (*sip.Response, error) {
	if err := send(); err != nil {
		return nil, fmt.Errorf("send NOTIFY: %w", err)
	}
	e := t1
	timerE := time.NewTimer(e)
	defer timerE.Stop()
	timerF := time.NewTimer(64 * t1)
	defer timerF.Stop()
	proceeding := false
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-timerF.C:
			return nil, ErrTimeout
		case <-timerE.C:
			if err := send(); err != nil {
				return nil, fmt.Errorf("retransmit NOTIFY: %w", err)
			}
			retransmitted()
			if proceeding {
				e = t2
			} else {
				e = min(2*e, t2)
			}
			timerE.Reset(e)
		case res := <-responses:
			if res.StatusCode < 200 {
				proceeding = true
				continue
			}
			return res, nil
		}
	}
}
