package pnp

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/pnpbox/pnpbox/appliance"
	"golang.org/x/net/ipv4"
)

// Group is the SIP multicast group PnP phones send to: sip.mcast.net,
// RFC 3261 §10.2.6.
var Group = netip.MustParseAddr("224.0.1.75")

// ReadBuffer is the socket receive buffer asked for: room for a few
// thousand SUBSCRIBEs arriving at once (an office's phones booting after a
// power cut), so the kernel does not drop them before they are read.
const ReadBuffer = 4 << 20

// MaxDatagram is the largest datagram parsed; a PnP SUBSCRIBE is ~600
// bytes, so anything larger is dropped before the parser sees it.
const MaxDatagram = 8192

// Unlimited as Config.PerSourceRate switches the per-source limit off.
const Unlimited = -1

// Interface is one LAN interface the box serves phones on.
type Interface struct {
	Name  string
	Index int
	// Prefixes are the interface's IPv4 addresses with their subnets:
	// phones are only answered and notified inside them.
	Prefixes []netip.Prefix
	Loopback bool
}

// Config configures a Server.
type Config struct {
	Port int    // UDP port, 5060 for PnP phones
	Name string // sent in Server / User-Agent headers
	Log  *slog.Logger
	// OnDiscovery receives every new SUBSCRIBE transaction with a MAC. It
	// must not block; returning false counts a queue_full drop.
	OnDiscovery func(Discovery) bool
	// Timers (RFC 3261 §17.1.2.2); zero means T1 = 500 ms, T2 = 4 s.
	T1, T2 time.Duration
	// PerSourceBurst and PerSourceRate bound the packets per second one
	// IP may send before they are dropped unparsed; zero means a burst of
	// twice the rate and 20/s, well above a phone's 5 tries plus NOTIFY
	// answers. Unlimited (any negative rate) switches the limit off.
	PerSourceBurst int
	PerSourceRate  float64
	// ReplyRate caps, across all sources, the replies per second that are
	// not the answer to a PnP SUBSCRIBE transaction (a 489 to a wrong
	// Event); zero means 500. Answers to PnP transactions are not
	// budgeted globally: a building booting at once is what the box is
	// for. Each transaction is answered once plus at most 10 repeats, and
	// the per-source limit bounds the transactions one address can start.
	ReplyRate float64
	// Readers is how many goroutines read and handle datagrams; zero
	// means one per CPU, at most 4.
	Readers int
	// OnForeign, if set, is told that src (not one of the box's
	// addresses) sent what ("response" or "NOTIFY") to Group: another SIP
	// or Plug-and-Play responder on the LAN. Each such datagram counts a
	// DropForeign drop; OnForeign is called at most once per source
	// address a minute, from a reader goroutine, so it must not block
	// long. Server.SetOnForeign sets it after Listen.
	OnForeign func(src netip.AddrPort, what string)
}

// Server answers PnP SUBSCRIBEs and sends NOTIFYs over one UDP socket bound
// to 0.0.0.0:Port that has joined Group on every served interface. NOTIFYs
// leave from the same socket, so their source port is the SIP port. Its
// methods are safe for concurrent use.
type Server struct {
	cfg    Config
	log    *slog.Logger
	uc     *net.UDPConn
	pc     *ipv4.PacketConn
	tagKey []byte
	parser *sip.Parser

	ifaces atomic.Pointer[[]Interface]
	joinMu sync.Mutex
	joined map[int]bool // ifindex → joined

	stats   stats
	limiter *limiter
	replies *bucket
	recent  *recentTxns
	drops   *dropLog
	foreign foreignNotice

	pendMu  sync.Mutex
	pending map[string]chan *sip.Response // NOTIFY branch → responses
}

// Listen opens the SIP socket. Call SetInterfaces to join the group and
// Serve to start answering.
func Listen(cfg Config) (*Server, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.T1 == 0 {
		cfg.T1 = 500 * time.Millisecond
	}
	if cfg.T2 == 0 {
		cfg.T2 = 4 * time.Second
	}
	if cfg.PerSourceRate == 0 {
		cfg.PerSourceRate = 20
	}
	if cfg.PerSourceBurst == 0 {
		cfg.PerSourceBurst = max(1, int(2*cfg.PerSourceRate))
	}
	if cfg.ReplyRate == 0 {
		cfg.ReplyRate = 500
	}
	// "udp4" on the wildcard address: the socket receives the group's
	// datagrams once joined, and unicast too (go-stack.md §1.1).
	uc, err := net.ListenUDP("udp4", &net.UDPAddr{Port: cfg.Port})
	if err != nil {
		return nil, fmt.Errorf("listen udp4 :%d: %w", cfg.Port, err)
	}
	pc := ipv4.NewPacketConn(uc)
	if err := pc.SetControlMessage(ipv4.FlagDst|ipv4.FlagInterface, true); err != nil {
		uc.Close()
		return nil, fmt.Errorf("enable packet info: %w", err)
	}
	_ = pc.SetMulticastLoopback(false)
	if got := growReadBuffer(uc, ReadBuffer); got > 0 && got < ReadBuffer {
		cfg.Log.Warn("SIP receive buffer smaller than asked: a burst of SUBSCRIBEs may be dropped by the kernel (run as root, or raise net.core.rmem_max)",
			"bytes", got, "wanted", ReadBuffer)
	}
	key := make([]byte, 32)
	rand.Read(key)
	if cfg.Port == 0 {
		cfg.Port = uc.LocalAddr().(*net.UDPAddr).Port
	}
	s := &Server{
		cfg:     cfg,
		log:     cfg.Log,
		uc:      uc,
		pc:      pc,
		tagKey:  key,
		parser:  sip.NewParser(),
		joined:  map[int]bool{},
		replies: newBucket(cfg.ReplyRate, cfg.ReplyRate),
		recent:  newRecentTxns(4096, 64*cfg.T1),
		drops:   newDropLog(cfg.Log, time.Minute),
		foreign: foreignNotice{period: time.Minute},
		pending: map[string]chan *sip.Response{},
	}
	if cfg.PerSourceRate > 0 {
		s.limiter = newLimiter(cfg.PerSourceBurst, cfg.PerSourceRate, 4096)
	}
	empty := []Interface{}
	s.ifaces.Store(&empty)
	return s, nil
}

// Port returns the UDP port the server is bound to.
func (s *Server) Port() int { return s.cfg.Port }

// Close closes the socket; Serve returns.
func (s *Server) Close() error { return s.uc.Close() }

// reader hands the datagrams that arrive on the socket to fn, a batch
// per call where the system allows: data (valid only during fn), the
// source, the arrival interface, the header destination address, and
// whether the datagram was longer than MaxDatagram. It returns the
// socket's error.
type reader interface {
	read(fn func(data []byte, src netip.AddrPort, ifIndex int, dst netip.Addr, truncated bool)) error
}

// Serve reads and answers datagrams until ctx is done or the socket is
// closed, with one reader per CPU (at most 4): each takes a batch from the
// socket in turn and handles it while the next reads the following one,
// so parsing and answering a boot storm uses every core. A panic while
// handling one datagram is recovered and counted: one bad packet never
// takes the box down.
func (s *Server) Serve(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { s.uc.Close() })
	defer stop()
	n := s.cfg.Readers
	if n <= 0 {
		n = min(4, runtime.GOMAXPROCS(0))
	}
	errs := make(chan error, n)
	for range n {
		r, err := newReader(s.uc)
		if err != nil {
			s.uc.Close()
			return fmt.Errorf("sip socket: %w", err)
		}
		go func() { errs <- s.readLoop(ctx, r) }()
	}
	var first error
	for range n {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (s *Server) readLoop(ctx context.Context, r reader) error {
	handle := func(data []byte, src netip.AddrPort, ifIndex int, dst netip.Addr, truncated bool) {
		s.handle(data, src, ifIndex, dst, truncated)
	}
	for {
		if err := r.read(handle); err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			s.log.Warn("sip read", "err", err)
		}
	}
}

// ServeDiscoveries is Serve with onDiscovery in place of
// Config.OnDiscovery, for a consumer made after the server (the
// coordinator sends its NOTIFYs through the server, so it is made second).
// Call it instead of Serve, once.
func (s *Server) ServeDiscoveries(ctx context.Context, onDiscovery func(appliance.Discovery) bool) error {
	s.cfg.OnDiscovery = onDiscovery // read only by Serve's loop, below
	return s.Serve(ctx)
}

func (s *Server) handle(data []byte, src netip.AddrPort, ifIndex int, dst netip.Addr, truncated bool) {
	defer func() {
		if r := recover(); r != nil {
			s.drop(DropUnparsable, netip.AddrPort{}, time.Now())
			s.log.Error("recovered panic handling a SIP datagram", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	s.stats.received.Add(1)
	now := time.Now()
	var ifc *Interface
	ifs := *s.ifaces.Load()
	for i := range ifs {
		if ifs[i].Index == ifIndex {
			ifc = &ifs[i]
			break
		}
	}
	if ifc == nil {
		s.drop(DropUnknownIf, src, now)
		return
	}
	var local netip.Addr
	for _, p := range ifc.Prefixes {
		if p.Contains(src.Addr()) {
			local = p.Addr()
			break
		}
	}
	if !local.IsValid() {
		s.drop(DropOffSubnet, src, now)
		return
	}
	if truncated || len(data) > MaxDatagram {
		s.drop(DropOversize, src, now)
		return
	}
	isResponse := hasPrefix(data, "SIP/2.0 ")
	isSubscribe := !isResponse && hasPrefix(data, "SUBSCRIBE ")
	var sub []byte
	if isSubscribe {
		sub = data
	}
	if !s.limiter.allow(src.Addr(), sub, now) {
		s.drop(DropRateLimited, src, now)
		return
	}
	if dst == Group && (isResponse || hasPrefix(data, "NOTIFY ")) && !own(ifs, src.Addr()) {
		// Nothing the box talks to sends these to the group: the box's
		// phones answer its NOTIFYs unicast.
		s.stats.drop(DropForeign)
		if s.cfg.OnForeign != nil && s.foreign.due(src.Addr(), now) {
			what := "NOTIFY"
			if isResponse {
				what = "response"
			}
			s.cfg.OnForeign(src, what)
		}
		return
	}
	if !isResponse && !isSubscribe {
		s.drop(DropNotSub, src, now)
		return
	}
	if isResponse {
		msg, err := s.parser.ParseSIP(data)
		if err != nil || msg == nil {
			s.drop(DropUnparsable, src, now)
			return
		}
		if res, ok := msg.(*sip.Response); ok {
			s.routeResponse(res, src, now)
			return
		}
		// sipgo reads a status line ending in "SIP…" as a request line
		// ("SIP/2.0 200 SIPx"): a request, and no SUBSCRIBE.
		s.stats.subscribes.Add(1)
		s.drop(DropNotSub, src, now)
		return
	}
	pkt := Packet{
		Data:      data,
		Source:    src,
		Multicast: dst == Group,
		Local:     local,
		LocalPort: s.cfg.Port,
		Interface: ifc.Name,
	}
	// The scanner reads what the answer needs straight from the bytes;
	// sipgo parses only what it does not vouch for (scan.go).
	buf := replyBufs.Get().(*[]byte)
	reply, dest, d, reason, parsed := answerDatagram((*buf)[:0], data, s.parser, pkt, s.tagKey, s.cfg.Name)
	defer func() {
		if cap(reply) > cap(*buf) {
			*buf = reply[:0]
		}
		replyBufs.Put(buf)
	}()
	if parsed {
		s.stats.subscribes.Add(1)
	}
	if reason != "" {
		s.drop(reason, src, now)
		return
	}
	if d == nil {
		// Not a PnP transaction (a 489): answered from the shared budget.
		if reply == nil || !s.replies.take(now) {
			s.drop(DropReplyBudget, src, now)
			return
		}
		s.send(reply, dest)
		s.stats.badEvent.Add(1)
		return
	}
	repeat, answer := s.recent.note(d.Txn, now)
	if !answer {
		s.drop(DropReplyBudget, src, now)
		return
	}
	s.send(reply, dest)
	s.stats.answered.Add(1)
	if repeat {
		s.stats.retransmissions.Add(1)
		return
	}
	if s.cfg.OnDiscovery != nil && !s.cfg.OnDiscovery(*d) {
		s.drop(DropQueueFull, src, now)
	}
}

// SetOnForeign sets Config.OnForeign (its consumer is usually made after
// Listen). Call it before Serve.
func (s *Server) SetOnForeign(f func(src netip.AddrPort, what string)) { s.cfg.OnForeign = f }

// replyBufs holds the buffers the readers build replies in: a reply is
// sent before handle returns, so its buffer is free again then.
var replyBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func (s *Server) send(reply []byte, dest netip.AddrPort) {
	if _, err := s.uc.WriteToUDPAddrPort(reply, dest); err != nil {
		s.log.Debug("sip reply", "ip", dest.String(), "err", err)
	}
}

func hasPrefix(b []byte, p string) bool {
	return len(b) >= len(p) && string(b[:len(p)]) == p
}

func (s *Server) drop(reason string, src netip.AddrPort, now time.Time) {
	s.stats.drop(reason)
	s.drops.note(reason, src, now)
}

func (s *Server) routeResponse(res *sip.Response, src netip.AddrPort, now time.Time) {
	via := res.Via()
	cseq := res.CSeq()
	if via == nil || cseq == nil || cseq.MethodName != sip.NOTIFY {
		s.drop(DropUnmatched, src, now)
		return
	}
	branch, _ := via.Params.Get("branch")
	s.pendMu.Lock()
	ch := s.pending[branch]
	s.pendMu.Unlock()
	if ch == nil {
		s.drop(DropUnmatched, src, now)
		return
	}
	select {
	case ch <- res:
	default: // the transaction already has more answers than it reads
	}
}
