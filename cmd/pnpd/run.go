package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pnpbox/pnpbox/appliance/panel"
	"github.com/pnpbox/pnpbox/appliance/pnp"
	"github.com/pnpbox/pnpbox/appliance/provision"
	"github.com/pnpbox/pnpbox/appliance/web"
	"github.com/pnpbox/pnpbox/board/sim"
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

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("-log-level %q: %w", level, err)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// run is the whole daemon; main only adds signals and the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if o.version {
		fmt.Fprintf(stdout, "pnpd %s %s/%s %s\n", fullVersion(), runtime.GOOS, runtime.GOARCH, runtime.Version())
		return nil
	}
	log, err := newLogger(stderr, o.logLevel)
	if err != nil {
		return err
	}
	started := time.Now()
	log.Info("starting", "version", fullVersion(), "data", o.data, "http", o.http, "sip_port", o.sipPort, "board", o.board, "net", o.net)

	if o.net != "none" {
		return fmt.Errorf("-net %s: not supported by this build yet; configure the interface outside pnpd and use -net none", o.net)
	}
	ifname, err := chooseInterface(o.iface)
	if err != nil {
		return err
	}

	b, err := openBoard(o.board, log)
	if err != nil {
		return err
	}

	st, err := openStore(o.data, log)
	if err != nil {
		return err
	}
	defer st.Close()

	var coord *provision.Coordinator
	sipSrv, err := pnp.Listen(pnp.Config{
		Port:        o.sipPort,
		Name:        "pnpbox/" + fullVersion(),
		Log:         log.With("component", "sip"),
		OnDiscovery: func(d pnp.Discovery) bool { return coord.Offer(d) },
	})
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("%w (is a SIP server already running on this machine? pnpd needs UDP port %d)", err, o.sipPort)
		}
		return err
	}
	defer sipSrv.Close()

	coord, err = provision.New(provision.Config{Store: st, Notifier: sipSrv, Log: log.With("component", "provision")})
	if err != nil {
		return err
	}
	if o.adminPassword != "" {
		if err := coord.SetAdminPassword(o.adminPassword); err != nil {
			return fmt.Errorf("-admin-password: %w", err)
		}
	} else if !coord.HasAdmin() {
		log.Warn("no admin password set: the API and status page refuse every login until pnpd is started with -admin-password")
	}

	ln, err := net.Listen("tcp", o.http)
	if err != nil {
		return fmt.Errorf("listen %s: %w", o.http, err)
	}
	coord.SetHTTPPort(ln.Addr().(*net.TCPAddr).Port)

	lan := &lanWatcher{name: ifname, srv: sipSrv, log: log.With("component", "net")}
	lan.refresh()

	pnl := panel.New(b.led, b.button, log.With("component", "panel"), func(p panel.Press) {
		if p.Long() {
			log.Info("button held: claim mode is not available in this build")
			return
		}
		log.Info("button pressed: provision all pending")
		coord.ProvisionAll()
	})
	box := func() web.Box {
		ifs := sipSrv.Interfaces()
		out := web.Box{Version: fullVersion(), Started: started, Interface: ifname,
			MulticastJoined: sipSrv.Joined(), LED: string(pnl.Pattern()), SIP: sipSrv.Stats(), Problem: lan.problem()}
		for _, i := range ifs {
			out.Interfaces = append(out.Interfaces, web.Iface{Name: i.Name, Addresses: i.Prefixes, Joined: sipSrv.JoinedOn(i.Index), UnicastOnly: i.Loopback})
		}
		return out
	}
	handler := web.New(web.Deps{Coord: coord, Box: box, Press: b.press, Log: log.With("component", "web")})
	httpSrv := web.NewServer(handler)

	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return sipSrv.Serve(ctx) })
	g.Go(func() error { return coord.Run(ctx) })
	g.Go(func() error { return pnl.Run(ctx) })
	g.Go(func() error { lan.watch(ctx); return nil })
	g.Go(func() error {
		if err := httpSrv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("http: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return httpSrv.Shutdown(sctx)
	})
	g.Go(func() error { ledLoop(ctx, pnl, coord, lan); return nil })
	g.Go(func() error { usr1(ctx, b, coord, log); return nil })
	g.Go(func() error { snapshotLoop(ctx, st, log.With("component", "store")); return nil })

	log.Info("ready", "iface", ifname, "http", ln.Addr().String(), "sip_port", sipSrv.Port())
	err = g.Wait()
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	log.Info("shut down cleanly")
	return nil
}

// ledLoop keeps the LED in step with what the box is doing.
func ledLoop(ctx context.Context, pnl *panel.Panel, coord *provision.Coordinator, lan *lanWatcher) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		st := coord.Status()
		fault := lan.problem()
		if fault == "" && st.Storage != nil {
			fault = "storage: " + st.Storage.Error()
		}
		if fault == "" {
			fault = alertFault(st)
		}
		pnl.Set(panel.PatternFor(panel.Inputs{Fault: fault, Busy: st.Busy, Pending: st.Pending}))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// usr1 makes SIGUSR1 a button press: through the simulated button when
// there is one (so it goes through the panel like a real press), else
// straight to "provision all pending".
func usr1(ctx context.Context, b *board, coord *provision.Coordinator, log *slog.Logger) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGUSR1)
	defer signal.Stop(ch)
	for {
		select {
		case <-ctx.Done():
			return
		case <-ch:
			log.Info("SIGUSR1: button press")
			if b.press != nil {
				b.press(50 * time.Millisecond)
			} else {
				coord.ProvisionAll()
			}
		}
	}
}

// board is the front-panel hardware.
type board struct {
	led    panel.LED
	button panel.Button
	press  func(hold time.Duration) // nil unless simulated
}

func openBoard(sel string, log *slog.Logger) (*board, error) {
	if sel == "auto" {
		if chips, _ := filepath.Glob("/dev/gpiochip*"); len(chips) > 0 {
			sel = "rpi"
		} else {
			sel = "sim"
		}
	}
	switch sel {
	case "sim":
		btn := sim.NewButton()
		return &board{led: &sim.LED{Log: log.With("component", "board")}, button: btn, press: btn.Press}, nil
	default:
		return nil, fmt.Errorf("-board %s: GPIO support is not in this build yet; use -board sim", sel)
	}
}

// lanWatcher keeps the SIP server's view of the LAN interface current
// (addresses, index) and says what is wrong with it, if anything.
type lanWatcher struct {
	name string
	srv  *pnp.Server
	log  *slog.Logger
	mu   sync.Mutex
	prob string
	last string
}

func (l *lanWatcher) problem() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.prob
}

func (l *lanWatcher) watch(ctx context.Context) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			l.refresh()
		}
	}
}

func (l *lanWatcher) refresh() {
	ifc, prob := describeInterface(l.name)
	var joinErr error
	if ifc != nil {
		joinErr = l.srv.SetInterfaces([]pnp.Interface{*ifc})
		if joinErr != nil && prob == "" {
			prob = "cannot join the SIP multicast group: " + joinErr.Error()
		}
	} else {
		l.srv.SetInterfaces(nil)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	key := prob
	if ifc != nil {
		key += fmt.Sprint(ifc.Index, ifc.Prefixes)
	}
	if key != l.last {
		if prob != "" {
			l.log.Warn("LAN problem", "iface", l.name, "problem", prob)
		} else {
			l.log.Info("LAN interface", "iface", l.name, "addresses", fmt.Sprint(ifc.Prefixes))
		}
		l.last = key
	}
	l.prob = prob
}

// describeInterface returns the interface as the SIP server serves it, and
// a problem an installer can act on.
func describeInterface(name string) (*pnp.Interface, string) {
	ni, err := net.InterfaceByName(name)
	if err != nil {
		return nil, fmt.Sprintf("interface %s not found", name)
	}
	ifc := &pnp.Interface{Name: ni.Name, Index: ni.Index, Loopback: ni.Flags&net.FlagLoopback != 0}
	addrs, _ := ni.Addrs()
	for _, a := range addrs {
		if p := prefixOf(a); p.IsValid() {
			ifc.Prefixes = append(ifc.Prefixes, p)
		}
	}
	switch {
	case ni.Flags&net.FlagUp == 0:
		return ifc, fmt.Sprintf("interface %s is down", name)
	case ni.Flags&net.FlagRunning == 0 && !ifc.Loopback:
		return ifc, fmt.Sprintf("interface %s has no link (cable?)", name)
	case len(ifc.Prefixes) == 0:
		return ifc, fmt.Sprintf("interface %s has no IPv4 address", name)
	}
	return ifc, ""
}

// chooseInterface returns name if given, else the default route's
// interface, else the first up, multicast-capable, non-loopback interface
// with an IPv4 address.
func chooseInterface(name string) (string, error) {
	if name != "" {
		if _, err := net.InterfaceByName(name); err != nil {
			return "", fmt.Errorf("-iface %s: %w", name, err)
		}
		return name, nil
	}
	if n := defaultRouteInterface(); n != "" {
		return n, nil
	}
	ifs, err := net.Interfaces()
	if err != nil {
		return "", err
	}
	for _, ni := range ifs {
		if ni.Flags&net.FlagUp == 0 || ni.Flags&net.FlagLoopback != 0 || ni.Flags&net.FlagMulticast == 0 {
			continue
		}
		if ifc, prob := describeInterface(ni.Name); ifc != nil && prob == "" {
			return ni.Name, nil
		}
	}
	return "", errors.New("no LAN interface found: pass -iface (for a laptop without a LAN: -iface lo)")
}

// defaultRouteInterface reads /proc/net/route for the interface of the
// IPv4 default route.
func defaultRouteInterface() string {
	b, err := os.ReadFile("/proc/net/route")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 2 && f[1] == "00000000" {
			return f[0]
		}
	}
	return ""
}
