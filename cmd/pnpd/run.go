package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/appliance/panel"
	"github.com/pnpbox/pnpbox/appliance/pnp"
	"github.com/pnpbox/pnpbox/appliance/provision"
	"github.com/pnpbox/pnpbox/appliance/web"
	"github.com/pnpbox/pnpbox/board/netif"
	"golang.org/x/sync/errgroup"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func fullVersion() string {
	v := version
	if v == "dev" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" && len(s.Value) >= 12 {
					v = "dev-" + s.Value[:12]
				}
			}
		}
	}
	return v
}

// serving is what run hands its ready callbacks once every part runs: the
// addresses it bound, for callers that asked for ephemeral ports.
type serving struct {
	HTTP    string   `json:"http"`     // host:port of the page, API and provisioning files
	HTTPS   string   `json:"https"`    // the same over TLS; "" when HTTPS is off
	SIPPort int      `json:"sip_port"` // the UDP port SUBSCRIBEs reach
	Ifaces  []string `json:"ifaces"`   // the served interfaces
}

// run is the whole daemon; main only adds signals and the exit code. Each
// ready callback is called once, when pnpd serves (the moment it logs
// "ready"); it must not block. Tests use it instead of reading the log.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, ready ...func(serving)) error {
	o, err := parseFlags(args)
	if errors.Is(err, flag.ErrHelp) {
		printUsage(stdout)
		return nil
	}
	if err != nil {
		return err
	}
	if o.version {
		fmt.Fprintf(stdout, "pnpd %s %s/%s %s\n", fullVersion(), runtime.GOOS, runtime.GOARCH, runtime.Version())
		return nil
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: o.level}))
	started := time.Now()
	log.Info("starting", "version", fullVersion(), "data", o.data, "http", o.http, "sip_port", o.sipPort, "board", o.board, "net", o.net)

	ifnames, err := interfaces(o)
	if err != nil {
		return err
	}
	ifname := ifnames[0]
	// Checked before anything is opened; Setup (below) changes the system.
	lanState := &lan{log: log.With("component", "net")}
	responder := newResponder(ifname, o.http, log.With("component", "mdns"))
	nm, err := netif.New(netif.Config{
		Iface: ifname, Extra: ifnames[1:], Mode: netif.Mode(o.net),
		Addr: o.addrP, Gateway: o.gwA, VLAN: o.vlan, VLANAddr: o.vlanAddrP,
		DHCPTimeout: o.dhcpTimeout, Hostname: boxHostname(ifname), ResolvConf: o.resolvConf,
		Log:      log.With("component", "net"),
		OnChange: func(s []netif.State) { lanState.update(s); responder.SetAddrs(addrsOn(s, ifname)) },
	})
	if err != nil {
		return usagef("-net %s: %w", o.net, err)
	}

	b, err := openBoard(o, log)
	if err != nil {
		return err
	}
	defer b.close()

	st, err := openStore(o.data, log)
	if err != nil {
		return err
	}
	defer st.Close()

	sipSrv, err := pnp.Listen(pnp.Config{
		Port:          o.sipPort,
		Name:          "pnpbox/" + fullVersion(),
		Log:           log.With("component", "sip"),
		PerSourceRate: cmp.Or(float64(o.sipSourceRate), pnp.Unlimited), // 0 = off
	})
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("%w (is a SIP server already running on this machine? pnpd needs UDP port %d)", err, o.sipPort)
		}
		return err
	}
	defer sipSrv.Close()

	lanState.srv = sipSrv
	if err := nm.Setup(ctx); err != nil {
		return fmt.Errorf("-net %s: %w", o.net, err)
	}

	// A NOTIFY to a phone on an interface without link waits for it.
	notifier := provision.PauseWhileDown(sipSrv, nm, 5*time.Minute)
	coord, err := provision.New(provision.Config{Store: st, Notifier: notifier, Log: log.With("component", "provision")})
	if err != nil {
		return err
	}
	sipSrv.SetOnForeign(coord.ForeignResponder)
	if o.adminPassword != "" {
		if err := coord.SetAdminPassword(o.adminPassword); err != nil {
			return fmt.Errorf("-admin-password: %w", err)
		}
	} else if !coord.HasAdmin() {
		log.Warn("no admin password set: hold the button 5 s and POST the password to /api/claim, or start pnpd with -admin-password")
	}

	ln, err := net.Listen("tcp", o.http)
	if err != nil {
		return fmt.Errorf("listen %s: %w", o.http, err)
	}
	coord.SetHTTPPort(ln.Addr().(*net.TCPAddr).Port)
	httpsLn, cert, err := listenHTTPS(o, log)
	if err != nil {
		return err
	}
	httpsPort := 0
	if httpsLn != nil {
		httpsPort = httpsLn.Addr().(*net.TCPAddr).Port
		coord.SetHTTPSPort(httpsPort)
	}

	claim := &panel.Claim{}
	pnl := panel.New(b.led, b.button, log.With("component", "panel"), func(p panel.Press) {
		if p.Long() {
			claim.Open(panel.ClaimFor)
			log.Info("claim mode on: POST /api/claim {\"password\": …} sets the admin password", "for", panel.ClaimFor)
			return
		}
		log.Info("button pressed: provision all pending")
		coord.ProvisionAll()
	})
	clk := newClock(nm, coord, ifname, log.With("component", "clock"))
	box := func() web.Box {
		ifs := sipSrv.Interfaces()
		out := web.Box{Version: fullVersion(), Started: started, Interface: ifname, TimeSynced: timeSynced(o, clk),
			MulticastJoined: sipSrv.Joined(), LED: string(pnl.Pattern()), SIP: sipSrv.Stats(), Problem: lanState.problem()}
		for _, i := range ifs {
			out.Interfaces = append(out.Interfaces, web.Iface{Name: i.Name, Addresses: i.Prefixes, Joined: sipSrv.JoinedOn(i.Index), UnicastOnly: i.Loopback})
		}
		return out
	}
	handler := web.New(web.Deps{Coord: coord, Box: box, Press: b.press, Claim: claim, Log: log.With("component", "web"), TLS: tlsDep(cert)})
	httpSrv := web.NewPlainServer(handler, web.HTTPSOnly(handler, func() bool { return coord.Settings().HTTPSOnly }, func() int { return httpsPort }))
	httpsSrv := web.NewServer(handler)

	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return sipSrv.ServeDiscoveries(ctx, coord.Offer) })
	g.Go(func() error { return coord.Run(ctx) })
	g.Go(func() error { return pnl.Run(ctx) })
	g.Go(func() error { return nm.Run(ctx) })
	g.Go(func() error {
		if err := httpSrv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("http: %w", err)
		}
		return nil
	})
	if httpsLn != nil {
		g.Go(func() error {
			if err := httpsSrv.Serve(httpsLn); !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("https: %w", err)
			}
			return nil
		})
	}
	g.Go(func() error {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		httpsSrv.Shutdown(sctx)
		return httpSrv.Shutdown(sctx)
	})
	g.Go(func() error { ledLoop(ctx, pnl, coord, lanState, sipSrv.Joined); return nil })
	// Subscribed before "ready": a press signalled right after it must not be
	// lost (Go ignores SIGUSR1/2 until something is notified of them).
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGUSR2)
	defer signal.Stop(sigs)
	g.Go(func() error { signals(ctx, sigs, b, coord, log); return nil })
	g.Go(func() error { snapshotLoop(ctx, st, log.With("component", "store")); return nil })
	g.Go(func() error { lanState.retryJoins(ctx); return nil })
	g.Go(func() error { return runClock(ctx, o, clk) })
	g.Go(func() error { return runResponder(ctx, responder, log.With("component", "mdns")) })
	g.Go(func() error { return runWatchdog(ctx, o, st, coord, sipSrv, log.With("component", "watchdog")) })

	up := serving{HTTP: ln.Addr().String(), SIPPort: sipSrv.Port(), Ifaces: nm.Names()}
	if httpsLn != nil {
		up.HTTPS = httpsLn.Addr().String()
	}
	log.Info("ready", "iface", strings.Join(up.Ifaces, ","), "http", up.HTTP, "sip_port", up.SIPPort, "https", up.HTTPS)
	for _, f := range ready {
		f(up)
	}
	err = g.Wait()
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	log.Info("shut down cleanly")
	return nil
}

// ledLoop keeps the LED in step with what the box is doing.
func ledLoop(ctx context.Context, pnl *panel.Panel, coord *provision.Coordinator, lan *lan, joined func() bool) {
	boot := &bootLED{}
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		st := coord.Status()
		fault := appliance.Health{LAN: lan.problem(), Storage: st.Storage, Alerts: st.Alerts}.Fault()
		pnl.Set(panel.PatternFor(panel.Inputs{Booting: boot.booting(lan, joined()), Fault: fault.Problem, Busy: st.Busy, Pending: st.Pending}))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// signals makes SIGUSR1 a short press and SIGUSR2 a 5 s hold (claim
// mode) of the simulated button, so they go through the panel like real
// presses; with a real button SIGUSR1 is "provision all pending" and
// SIGUSR2 does nothing: claiming needs the button itself.
func signals(ctx context.Context, ch <-chan os.Signal, b *board, coord *provision.Coordinator, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case sig := <-ch:
			long := sig == syscall.SIGUSR2
			log.Info("signal: button press", "signal", sig.String(), "long", long)
			switch {
			case b.press != nil && long:
				b.press(panel.LongPress + 100*time.Millisecond)
			case b.press != nil:
				b.press(50 * time.Millisecond)
			case !long:
				coord.ProvisionAll()
			}
		}
	}
}
