package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// runFlood sends well-formed PnP SUBSCRIBEs, each a new transaction with
// a new MAC, at -rate per second in total for -for, spread over -sources
// sockets bound to consecutive addresses from -first-ip (the addresses
// must exist in the namespace). It prints what it sent.
func runFlood(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("flood", flag.ContinueOnError)
	target := fs.String("target", "198.18.0.1:5060", "where the SUBSCRIBEs go")
	rate := fs.Int("rate", 30000, "datagrams per second in total")
	sources := fs.Int("sources", 1, "source addresses, each its own socket")
	first := fs.String("first-ip", "198.18.0.2", "first source address")
	dur := fs.Duration("for", 3*time.Second, "how long to flood")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dst, err := netip.ParseAddrPort(*target)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(*first)
	if err != nil {
		return err
	}
	conns := make([]*net.UDPConn, *sources)
	for i := range conns {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: ip.AsSlice()})
		if err != nil {
			return fmt.Errorf("source %d (%s): %w", i, ip, err)
		}
		defer c.Close()
		go discard(c)
		conns[i] = c
		ip = ip.Next()
	}
	const tick = time.Millisecond
	perTick := max(1, *rate/int(time.Second/tick))
	t := time.NewTicker(tick)
	defer t.Stop()
	end := time.Now().Add(*dur)
	sent, errs, n := 0, 0, 0
	for time.Now().Before(end) && ctx.Err() == nil {
		<-t.C
		// Catch up to the schedule, so a late tick does not lower the rate.
		due := int(float64(*rate) * (*dur - time.Until(end)).Seconds())
		for k := 0; k < perTick*4 && sent+errs < due; k++ {
			c := conns[n%len(conns)]
			if _, err := c.WriteToUDPAddrPort(floodSubscribe(c.LocalAddr().String(), n), dst); err != nil {
				errs++
			} else {
				sent++
			}
			n++
		}
	}
	fmt.Printf("flood: sent %d (%d errors) in %s from %d sources: %.0f/s\n", sent, errs, *dur, *sources, float64(sent)/dur.Seconds())
	return nil
}

// discard reads and drops the answers, so they do not fill the socket
// buffer and cost the sender errors.
func discard(c *net.UDPConn) {
	buf := make([]byte, 2048)
	for {
		if _, err := c.Read(buf); err != nil {
			return
		}
	}
}

func floodSubscribe(local string, n int) []byte {
	mac := fmt.Sprintf("0A0B0C%06X", n&0xFFFFFF)
	return fmt.Appendf(nil, "SUBSCRIBE sip:MAC%%3A%s@224.0.1.75 SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP %s;branch=z9hG4bKflood%d;rport\r\n"+
		"From: <sip:MAC%%3A%s@224.0.1.75>;tag=%d\r\n"+
		"To: <sip:MAC%%3A%s@224.0.1.75>\r\n"+
		"Call-ID: flood-%d@%s\r\n"+
		"CSeq: 20000 SUBSCRIBE\r\n"+
		"Contact: <sip:%s>\r\n"+
		"Max-Forwards: 70\r\n"+
		"User-Agent: Grandstream GXP2140 1.0.11.3\r\n"+
		"Expires: 0\r\n"+
		"Event: ua-profile;profile-type=\"device\";vendor=\"Grandstream\";model=\"GXP2140\";version=\"1.0.11.3\"\r\n"+
		"Accept: application/url\r\n"+
		"Content-Length: 0\r\n\r\n", mac, local, n, mac, n, mac, n, local, local)
}

// floods: 30,000 SUBSCRIBEs/s from one host, then from 1,000 on-subnet
// sources, while 50 phones boot; pnpd, Kamailio and responder.py in turn.
func (s *suite) floods(ctx context.Context) error {
	// The flood runs for dur; the phones boot over spread from dur/4 on
	// and wait up to wait for their answers, all inside the flood.
	rate, dur, phones, spread, wait := 30000, 5*time.Second, 50, time.Second, 3*time.Second
	if s.smoke {
		rate, dur, phones, spread, wait = 2000, 2*time.Second, 5, 300*time.Millisecond, 1300*time.Millisecond
	}
	for _, sources := range []int{1, 1000} {
		if s.smoke && sources > 1 {
			sources = 20
		}
		run := func(target string, startServer func() (func(), error)) (stormResult, string, error) {
			stop, err := startServer()
			if err != nil {
				return stormResult{}, "", err
			}
			defer stop()
			first := netip.MustParseAddr(hostSideIP)
			if sources > 1 {
				first = floodBase
			}
			floodOut := make(chan string, 1)
			go func() {
				out, _ := s.output(ctx, dur+30*time.Second, phNS, filepath.Join(s.bin, "lanbench"), "flood", "-target", target,
					"-rate", strconv.Itoa(rate), "-sources", strconv.Itoa(sources), "-first-ip", first.String(), "-for", dur.String())
				floodOut <- strings.TrimSpace(out)
			}()
			time.Sleep(dur / 4) // the flood is on before the phones boot
			ptarget := ""
			if target != boxIP+":5060" {
				ptarget = target
			}
			r, err := s.phonesim(ctx, phones, spread, ptarget, phoneBase, "000B82500000", wait)
			sent := <-floodOut
			return r, sent, err
		}
		pr, sent, err := run(boxIP+":5060", func() (func(), error) {
			d, err := s.freshPnpd(ctx, fmt.Sprintf("flood%d", sources))
			if err != nil {
				return nil, err
			}
			return d.stop, nil
		})
		if err != nil {
			return err
		}
		x := row{what: fmt.Sprintf("%d phones booting under %d SUBSCRIBEs/s from %d source(s) (%s)", phones, rate, sources, sent), pnpd: pr.String()}
		if s.refs {
			// A reference server as run wants it: started, and its stop.
			server := func(start func() (*proc, error)) func() (func(), error) {
				return func() (func(), error) {
					p, err := start()
					if err != nil {
						return nil, err
					}
					return p.stop, nil
				}
			}
			kr, _, err := run(kamailioAddr, server(s.startKamailio))
			if err != nil {
				return err
			}
			x.ref, x.ratio = kr.String(), ratio(kr.p99, pr.p99, "p99 ")
			yr, _, err := run(boxIP+":5060", server(s.startResponder))
			if err != nil {
				return err
			}
			s.rep.add("floodpy", row{what: x.what, pnpd: x.pnpd, ref: yr.String(), ratio: ratio(yr.p99, pr.p99, "p99 ")})
		}
		s.rep.add("flood", x)
		if s.smoke && pr.answered != phones {
			return fmt.Errorf("smoke flood: %d/%d phones answered", pr.answered, phones)
		}
	}
	return nil
}
