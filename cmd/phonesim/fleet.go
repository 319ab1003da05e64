package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"text/tabwriter"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/pnpbox/pnpbox/appliance"
)

// fleet is the simulated phones, each with its bound SIP socket.
type fleet struct {
	phones []*phone
	seed   uint64
	now    func() time.Time
}

// newFleet binds every phone's socket, so that a setup error (an address
// that is not there, a port in use) ends the run before any phone boots.
func newFleet(o *options, log *slog.Logger) (*fleet, error) {
	f := &fleet{seed: o.seed, now: time.Now}
	multicast := o.target.Addr().IsMulticast()
	var (
		out    *net.Interface
		byAddr map[netip.Addr]*net.Interface
		err    error
	)
	if multicast {
		if o.iface != "" {
			if out, err = net.InterfaceByName(o.iface); err != nil {
				return nil, fmt.Errorf("-iface: %w", err)
			}
		} else if byAddr, err = interfacesByAddr(); err != nil {
			return nil, err
		}
	}
	for i := range o.n {
		ip := o.ip(i)
		ifi := out
		if multicast && ifi == nil {
			if ifi = byAddr[ip]; ifi == nil {
				f.close()
				return nil, fmt.Errorf("phone %d: no interface has %s; name one with -iface", i, ip)
			}
		}
		conn, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(o.port))))
		if err != nil {
			f.close()
			return nil, fmt.Errorf("phone %d: %w", i, err)
		}
		if multicast {
			if err := multicastOut(conn, ifi); err != nil {
				conn.Close()
				f.close()
				return nil, fmt.Errorf("phone %d: %w", i, err)
			}
		}
		f.phones = append(f.phones, newPhone(o, i, conn, log))
	}
	return f, nil
}

// multicastOut makes c send multicast out of ifi with TTL 1, so no multicast
// or default route is needed (reference/go-stack.md §1.5) and the SUBSCRIBE
// stays on the phone's segment as a real phone's does. Loopback stays on, so
// a box in the same network namespace hears the fleet too.
func multicastOut(c *net.UDPConn, ifi *net.Interface) error {
	p := ipv4.NewPacketConn(c)
	if err := p.SetMulticastInterface(ifi); err != nil {
		return fmt.Errorf("multicast interface %s: %w", ifi.Name, err)
	}
	if err := p.SetMulticastTTL(1); err != nil {
		return fmt.Errorf("multicast TTL: %w", err)
	}
	return nil
}

// interfacesByAddr maps every IPv4 address on this host to its interface.
func interfacesByAddr() (map[netip.Addr]*net.Interface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("list interfaces: %w", err)
	}
	m := make(map[netip.Addr]*net.Interface)
	for i := range ifs {
		addrs, err := ifs[i].Addrs()
		if err != nil {
			return nil, fmt.Errorf("addresses of %s: %w", ifs[i].Name, err)
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(n.IP.To4()); ok {
					m[ip] = &ifs[i]
				}
			}
		}
	}
	return m, nil
}

// run lets every phone live until it has an outcome or ctx ends, then closes
// the sockets and reports. A phone's socket stays open until the last phone
// is done, so a NOTIFY the box should not have sent is counted even then.
func (f *fleet) run(ctx context.Context) *Report {
	start := f.now()
	var readers, phones sync.WaitGroup
	for _, p := range f.phones {
		readers.Go(p.readLoop)
	}
	for _, p := range f.phones {
		phones.Go(func() { p.run(ctx) })
	}
	phones.Wait()
	ended := endDone
	if ctx.Err() != nil {
		ended = stopCause(ctx)
	}
	f.close()
	readers.Wait()

	rep := &Report{Phones: make([]Result, 0, len(f.phones)), Total: len(f.phones), Seed: f.seed, Ended: ended,
		ElapsedMs: f.now().Sub(start).Milliseconds()}
	for _, p := range f.phones {
		r := p.result()
		if r.Provisioned {
			rep.Provisioned++
		}
		rep.Phones = append(rep.Phones, r)
	}
	return rep
}

func (f *fleet) close() {
	for _, p := range f.phones {
		p.conn.Close()
	}
}

// stopCause names why ctx ended: endTimeout or endInterrupted.
func stopCause(ctx context.Context) string {
	if errors.Is(context.Cause(ctx), errTimeout) {
		return endTimeout
	}
	return endInterrupted
}

// How a run ended.
const (
	endDone        = "done"        // every phone reached an outcome
	endTimeout     = "timeout"     // -timeout expired first
	endInterrupted = "interrupted" // SIGINT or SIGTERM came first
)

// Report is phonesim's output: -json prints it as it is.
type Report struct {
	Phones      []Result `json:"phones"`
	Provisioned int      `json:"provisioned"`
	Total       int      `json:"total"`
	Expect      string   `json:"expect"`  // the -expect outcome
	Reached     int      `json:"reached"` // phones that reached it; exit status 0 needs all

	Seed      uint64 `json:"seed"`       // -seed that reproduces tags, branches and -loss
	Ended     string `json:"ended"`      // done, timeout or interrupted
	ElapsedMs int64  `json:"elapsed_ms"` // wall time of the run
}

// Result is one phone's outcome. Times are in milliseconds; null where the
// event did not happen.
type Result struct {
	MAC      appliance.MAC `json:"mac"`
	Model    string        `json:"model"`
	Firmware string        `json:"firmware"`
	IP       netip.Addr    `json:"ip"`
	SIPPort  int           `json:"sip_port"`

	SubscribeTries  int    `json:"subscribe_tries"`  // SUBSCRIBEs sent at the first boot
	SubscribeStatus int    `json:"subscribe_status"` // 200 or 500 that ended them, else the last status seen, 0 for none
	Got200          bool   `json:"got_200"`
	Got200Try       int    `json:"got_200_try"` // which try the 200 answered; 0 without one
	Got200Ms        *int64 `json:"got_200_ms"`  // from the first try to the 200
	Got200Us        *int64 `json:"got_200_us"`  // the same in microseconds (benchmarks)
	ResponsesLost   int    `json:"responses_lost"`

	Notify       bool   `json:"notify"`        // a NOTIFY came before the phone gave up
	NotifyStatus int    `json:"notify_status"` // our answer to the NOTIFY acted on, else to the last one refused
	NotifyMs     *int64 `json:"notify_ms"`     // from the 200 to the NOTIFY acted on
	URL          string `json:"url"`           // NOTIFY body

	FirstDownloadOK      bool   `json:"first_download_ok"`
	ConfigURL            string `json:"config_url"` // from P212 and P237: the after-reboot download
	RebootSubscribeTries int    `json:"reboot_subscribe_tries"`
	RebootGot200         bool   `json:"reboot_got_200"`
	SecondDownloadOK     bool   `json:"second_download_ok"`
	Identical            bool   `json:"identical"`      // the two downloads are byte-identical
	ExtraNotifies        int    `json:"extra_notifies"` // NOTIFY transactions after the one acted on

	Provisioned bool   `json:"provisioned"` // both downloads ok, identical, no extra NOTIFY
	Error       string `json:"error"`       // what went wrong, "" when provisioned
}

// The outcomes -expect may ask of every phone, strongest first.
const (
	outcomeProvisioned = "provisioned" // Result.Provisioned
	outcomeNotified    = "notified"    // a NOTIFY it accepted (200)
	outcomeAnswered    = "answered"    // a 200 to its first-boot SUBSCRIBE
	outcomeNone        = "none"        // nothing: exit status 0 whenever a report is printed
)

var outcomes = []string{outcomeProvisioned, outcomeNotified, outcomeAnswered, outcomeNone}

// reached reports whether r reached outcome.
func (r *Result) reached(outcome string) bool {
	switch outcome {
	case outcomeProvisioned:
		return r.Provisioned
	case outcomeNotified:
		return r.Notify && r.NotifyStatus == 200
	case outcomeAnswered:
		return r.Got200
	}
	return true
}

// count sets Expect and Reached for outcome.
func (r *Report) count(outcome string) {
	r.Expect, r.Reached = outcome, 0
	for i := range r.Phones {
		if r.Phones[i].reached(outcome) {
			r.Reached++
		}
	}
}

func (r *Report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// writeText prints a table, one phone a line, and the summary line last.
func (r *Report) writeText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MAC\tMODEL\tIP\tTRIES\t200\tNOTIFY\tURL\t1ST\t2ND\tSAME\tEXTRA\tRESULT")
	for _, p := range r.Phones {
		ok200 := "no"
		switch {
		case p.Got200:
			ok200 = fmt.Sprintf("try %d, %dms", p.Got200Try, *p.Got200Ms)
		case p.SubscribeStatus != 0:
			ok200 = fmt.Sprintf("no (%d)", p.SubscribeStatus)
		}
		notify := "-"
		switch {
		case p.NotifyMs != nil:
			notify = fmt.Sprintf("%d +%dms", p.NotifyStatus, *p.NotifyMs)
		case p.Notify:
			notify = fmt.Sprint(p.NotifyStatus)
		}
		same := "-"
		if p.FirstDownloadOK && p.SecondDownloadOK {
			same = yesNo(p.Identical)
		}
		result := "provisioned"
		if p.Error != "" {
			result = p.Error
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n",
			p.MAC, p.Model, netip.AddrPortFrom(p.IP, uint16(p.SIPPort)), p.SubscribeTries, ok200, notify,
			orDash(p.URL), okDash(p.FirstDownloadOK), okDash(p.SecondDownloadOK), same, p.ExtraNotifies, result)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "phonesim: seed %d, %s after %.1fs\nphonesim: %d/%d phones provisioned\n",
		r.Seed, r.Ended, float64(r.ElapsedMs)/1000, r.Provisioned, r.Total)
	return err
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func okDash(b bool) string {
	if b {
		return "ok"
	}
	return "-"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
