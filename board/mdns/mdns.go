// Package mdns makes the box findable on its LAN without anyone's DNS:
// it answers multicast DNS (RFC 6762) for <hostname>.local, advertises
// the status page as an _http._tcp service (DNS-SD, RFC 6763), and
// announces both, unasked, whenever the box's addresses change, so caches
// on the LAN follow a new DHCP lease at once.
//
// Queries are answered by github.com/hashicorp/mdns's server over the
// zone this package keeps; the unsolicited announcements (RFC 6762 §8.3)
// are sent here, because that server only answers. Probing (§8.1) is
// left out: the name carries the MAC's last digits, so two boxes do not
// claim the same one.
package mdns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	hmdns "github.com/hashicorp/mdns"
	"github.com/miekg/dns"
	"golang.org/x/net/ipv4"
)

// Group is the IPv4 mDNS group and port (RFC 6762 §3).
var Group = netip.MustParseAddrPort("224.0.0.251:5353")

// TTLs from RFC 6762 §10: records that name a host's address 120 s,
// the others 75 minutes.
const (
	hostTTL  = 120
	otherTTL = 4500
)

// Config configures a Responder.
type Config struct {
	// Hostname without ".local", e.g. "pnpbox-3a4f".
	Hostname string
	// Iface is the interface to answer and announce on.
	Iface string
	// Port is the HTTP port the _http._tcp service points at.
	Port int
	Log  *slog.Logger
}

// Responder answers and announces. Its methods are safe for concurrent
// use; SetAddrs may be called before Run.
type Responder struct {
	cfg      Config
	log      *slog.Logger
	host     string // "pnpbox-3a4f.local."
	instance string // "pnpbox-3a4f._http._tcp.local."

	mu      sync.Mutex
	addrs   []netip.Addr
	changed chan struct{} // 1-buffered: an announcement is due
}

const service = "_http._tcp.local."

// New returns a Responder; nothing is opened before Run.
func New(cfg Config) *Responder {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Responder{cfg: cfg, log: cfg.Log, host: cfg.Hostname + ".local.",
		instance: cfg.Hostname + "." + service, changed: make(chan struct{}, 1)}
}

// Name is the box's mDNS host name, e.g. "pnpbox-3a4f.local".
func (r *Responder) Name() string { return strings.TrimSuffix(r.host, ".") }

// SetAddrs sets the IPv4 addresses the name resolves to; a change is
// announced at once by a running Responder.
func (r *Responder) SetAddrs(addrs []netip.Addr) {
	var v4 []netip.Addr
	for _, a := range addrs {
		if a.Is4() && !a.IsLoopback() {
			v4 = append(v4, a)
		}
	}
	slices.SortFunc(v4, netip.Addr.Compare)
	v4 = slices.Compact(v4)
	r.mu.Lock()
	same := slices.Equal(r.addrs, v4)
	r.addrs = v4
	r.mu.Unlock()
	if !same {
		select {
		case r.changed <- struct{}{}:
		default:
		}
	}
}

func (r *Responder) current() []netip.Addr {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.addrs)
}

// Records answers one question from the zone: the host's A records, the
// service's PTR, the instance's SRV and TXT, and the DNS-SD service
// enumeration (RFC 6763 §9). It satisfies hashicorp/mdns's Zone.
func (r *Responder) Records(q dns.Question) []dns.RR {
	if cls := q.Qclass &^ (1 << 15); cls != dns.ClassINET && cls != dns.ClassANY {
		return nil
	}
	name := strings.ToLower(q.Name)
	want := func(t uint16) bool { return q.Qtype == t || q.Qtype == dns.TypeANY }
	var out []dns.RR
	switch name {
	case strings.ToLower(r.host):
		if want(dns.TypeA) {
			out = r.aRecords()
		}
	case service:
		if want(dns.TypePTR) {
			out = append(out, r.ptr())
			out = append(out, r.srv(), r.txt())
			out = append(out, r.aRecords()...)
		}
	case strings.ToLower(r.instance):
		if want(dns.TypeSRV) {
			out = append(out, r.srv())
		}
		if want(dns.TypeTXT) {
			out = append(out, r.txt())
		}
		if len(out) > 0 {
			out = append(out, r.aRecords()...)
		}
	case "_services._dns-sd._udp.local.":
		if want(dns.TypePTR) {
			out = append(out, &dns.PTR{Hdr: hdr("_services._dns-sd._udp.local.", dns.TypePTR, otherTTL, false), Ptr: service})
		}
	}
	return out
}

// hdr is a record header; unique records (the host's own) carry the
// cache-flush bit (RFC 6762 §10.2).
func hdr(name string, t uint16, ttl uint32, unique bool) dns.RR_Header {
	class := uint16(dns.ClassINET)
	if unique {
		class |= 1 << 15
	}
	return dns.RR_Header{Name: name, Rrtype: t, Class: class, Ttl: ttl}
}

func (r *Responder) aRecords() []dns.RR {
	var out []dns.RR
	for _, a := range r.current() {
		out = append(out, &dns.A{Hdr: hdr(r.host, dns.TypeA, hostTTL, true), A: a.AsSlice()})
	}
	return out
}

func (r *Responder) ptr() dns.RR {
	return &dns.PTR{Hdr: hdr(service, dns.TypePTR, otherTTL, false), Ptr: r.instance}
}

func (r *Responder) srv() dns.RR {
	return &dns.SRV{Hdr: hdr(r.instance, dns.TypeSRV, hostTTL, true), Port: uint16(r.cfg.Port), Target: r.host}
}

func (r *Responder) txt() dns.RR {
	return &dns.TXT{Hdr: hdr(r.instance, dns.TypeTXT, otherTTL, true), Txt: []string{"path=/"}}
}

// announcement is the unsolicited response of RFC 6762 §8.3: every record
// the box owns, in the answer section.
func (r *Responder) announcement() *dns.Msg {
	m := &dns.Msg{MsgHdr: dns.MsgHdr{Response: true, Authoritative: true}, Compress: true}
	m.Answer = append(m.Answer, r.aRecords()...)
	m.Answer = append(m.Answer, r.ptr(), r.srv(), r.txt())
	return m
}

// Run opens the sockets on the interface (waiting for it to exist),
// answers queries and announces at the start and after every address
// change, until ctx is done. All sockets are opened on the calling
// goroutine, so a caller in a network namespace gets them there.
func (r *Responder) Run(ctx context.Context) error {
	var ifi *net.Interface
	for {
		var err error
		if ifi, err = net.InterfaceByName(r.cfg.Iface); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
	if ifi.Flags&net.FlagMulticast == 0 || ifi.Flags&net.FlagLoopback != 0 {
		r.log.Info("mDNS off: the interface has no multicast", "iface", ifi.Name)
		return nil
	}
	srv, err := hmdns.NewServer(&hmdns.Config{Zone: r, Iface: ifi,
		Logger: slog.NewLogLogger(r.log.Handler(), slog.LevelDebug)})
	if err != nil {
		return fmt.Errorf("mDNS on %s: %w", ifi.Name, err)
	}
	defer srv.Shutdown()
	send, err := r.sender(ifi)
	if err != nil {
		return fmt.Errorf("mDNS on %s: %w", ifi.Name, err)
	}
	defer send.Close()
	r.log.Info("mDNS: answering", "name", r.Name(), "iface", ifi.Name, "service", service, "port", r.cfg.Port)

	// An announcement is sent twice, one second apart (RFC 6762 §8.3);
	// a change in between starts the pair again.
	var again <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.changed:
		case <-again:
			again = nil
			r.announce(send, ifi)
			continue
		}
		if len(r.current()) == 0 {
			continue
		}
		r.announce(send, ifi)
		again = time.After(time.Second)
	}
}

// sender is the socket announcements leave by: from port 5353, as
// receivers ignore mDNS responses from any other (RFC 6762 §6), shared
// with the server's listener and any other responder on the machine.
func (r *Responder) sender(ifi *net.Interface) (*ipv4.PacketConn, error) {
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
		})
		return errors.Join(err, serr)
	}}
	c, err := lc.ListenPacket(context.Background(), "udp4", fmt.Sprintf("0.0.0.0:%d", Group.Port()))
	if err != nil {
		return nil, err
	}
	p := ipv4.NewPacketConn(c)
	err = errors.Join(p.SetMulticastInterface(ifi), p.SetMulticastTTL(255), p.SetMulticastLoopback(false))
	if err != nil {
		c.Close()
		return nil, err
	}
	return p, nil
}

func (r *Responder) announce(p *ipv4.PacketConn, ifi *net.Interface) {
	b, err := r.announcement().Pack()
	if err != nil {
		r.log.Warn("mDNS: pack announcement", "err", err)
		return
	}
	if _, err := p.WriteTo(b, nil, net.UDPAddrFromAddrPort(Group)); err != nil {
		r.log.Debug("mDNS: announce", "iface", ifi.Name, "err", err)
		return
	}
	r.log.Debug("mDNS: announced", "name", r.Name(), "addrs", fmt.Sprint(r.current()))
}
