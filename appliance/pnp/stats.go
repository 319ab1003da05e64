package pnp

import (
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Stats counts what the SIP side did since start.
type Stats struct {
	Received        uint64            `json:"received"`
	Subscribes      uint64            `json:"subscribes"`
	Answered        uint64            `json:"answered"`
	Retransmissions uint64            `json:"retransmissions"`
	BadEvent        uint64            `json:"bad_event"`
	NotifySent      uint64            `json:"notify_sent"`
	NotifyRetrans   uint64            `json:"notify_retransmissions"`
	NotifyOK        uint64            `json:"notify_ok"`
	NotifyFailed    uint64            `json:"notify_failed"`
	Dropped         map[string]uint64 `json:"dropped"`
}

// DropForeign counts SIP responses and NOTIFYs another host sent to the
// multicast group (Group): nothing the box talks to does that, so it is
// another SIP or Plug-and-Play responder on the LAN. Shown in /api/status
// with the other drop reasons.
const DropForeign = "foreign_on_group"

// dropReasons are the reasons counted without a lock: a flood is counted
// at the cost of an atomic add per datagram.
var dropReasons = [...]string{DropOversize, DropUnparsable, DropNotSub, DropNoMAC, DropBadMAC, DropRateLimited,
	DropOffSubnet, DropUnknownIf, DropQueueFull, DropUnmatched, DropReplyBudget, DropForeign}

type stats struct {
	received, subscribes, answered, retransmissions, badEvent atomic.Uint64
	notifySent, notifyRetrans, notifyOK, notifyFailed         atomic.Uint64
	dropped                                                   [len(dropReasons)]atomic.Uint64
	mu                                                        sync.Mutex
	other                                                     map[string]uint64 // any reason not in dropReasons
}

func (s *stats) drop(reason string) {
	for i, r := range dropReasons {
		if r == reason {
			s.dropped[i].Add(1)
			return
		}
	}
	s.mu.Lock()
	if s.other == nil {
		s.other = map[string]uint64{}
	}
	s.other[reason]++
	s.mu.Unlock()
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	st := &s.stats
	out := Stats{
		Received:        st.received.Load(),
		Subscribes:      st.subscribes.Load(),
		Answered:        st.answered.Load(),
		Retransmissions: st.retransmissions.Load(),
		BadEvent:        st.badEvent.Load(),
		NotifySent:      st.notifySent.Load(),
		NotifyRetrans:   st.notifyRetrans.Load(),
		NotifyOK:        st.notifyOK.Load(),
		NotifyFailed:    st.notifyFailed.Load(),
		Dropped:         map[string]uint64{},
	}
	for i, r := range dropReasons {
		if v := st.dropped[i].Load(); v > 0 {
			out.Dropped[r] = v
		}
	}
	st.mu.Lock()
	for k, v := range st.other {
		out.Dropped[k] = v
	}
	st.mu.Unlock()
	return out
}

// dropLog turns per-packet drops into at most one log line per reason per
// period, so a flood cannot flood the log (and the SD card) too.
type dropLog struct {
	log    *slog.Logger
	period time.Duration
	mu     sync.Mutex
	byWhy  map[string]*dropWindow
}

type dropWindow struct {
	start   time.Time
	count   int
	example netip.AddrPort
	logged  bool
}

func newDropLog(log *slog.Logger, period time.Duration) *dropLog {
	return &dropLog{log: log, period: period, byWhy: map[string]*dropWindow{}}
}

// note counts a drop at now (the caller's clock reading for the datagram).
func (d *dropLog) note(reason string, src netip.AddrPort, now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	w := d.byWhy[reason]
	if w == nil {
		w = &dropWindow{start: now}
		d.byWhy[reason] = w
	}
	if now.Sub(w.start) >= d.period {
		if w.count > 1 {
			d.log.Info("dropped SIP datagrams", "reason", reason, "count", w.count, "period", d.period.String(), "example_src", w.example.String())
		}
		*w = dropWindow{start: now}
	}
	w.count++
	w.example = src
	if !w.logged {
		w.logged = true
		d.log.Info("dropping SIP datagram (further drops for this reason are summarised once a minute)", "reason", reason, "src", src.String())
	}
}

// foreignNotice limits Config.OnForeign to one call per source address
// per period: a flood of foreign datagrams costs a map lookup each, no
// allocation and no log line.
type foreignNotice struct {
	period time.Duration
	mu     sync.Mutex
	last   map[netip.Addr]time.Time
}

// due reports whether src's address has not been reported within the
// period, and notes now as its last report if so.
func (f *foreignNotice) due(src netip.Addr, now time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t, ok := f.last[src]; ok && now.Sub(t) < f.period {
		return false
	}
	if f.last == nil || len(f.last) >= 1024 { // bounded: spoofed sources
		f.last = map[netip.Addr]time.Time{}
	}
	f.last[src] = now
	return true
}
