package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/pnpbox/pnpbox/appliance"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

var (
	// errInterrupted ends a run that a signal stopped; the report is printed.
	errInterrupted = errors.New("interrupted")
	// errTimeout is the cause of a run's context when -timeout expires.
	errTimeout = errors.New("timeout")
	// errReported is a flag error the flag package has already printed.
	errReported = errors.New("bad flags")
)

// usageError is a bad flag or flag value: exit status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// Exit statuses, after SIPp's (0: every call succeeded, 1: at least one
// failed), so a script can gate on phonesim the same way.
const (
	exitOK          = 0   // every phone reached the -expect outcome (or -h, -version)
	exitShort       = 1   // the report is printed; not every phone reached it
	exitUsage       = 2   // bad flags
	exitSetup       = 3   // the fleet could not be set up (an address cannot be bound, …)
	exitInterrupted = 130 // SIGINT or SIGTERM; the report is printed
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// cli is phonesim with its exit status: it runs the fleet, says on stderr
// what went wrong, and returns one of the exit* statuses.
func cli(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	rep, err := simulate(ctx, args, stdout, stderr)
	var usage usageError
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.Is(err, errInterrupted):
		return exitInterrupted
	case errors.Is(err, errReported):
		return exitUsage
	case errors.As(err, &usage):
		fmt.Fprintln(stderr, "phonesim:", err)
		fmt.Fprintln(stderr, "phonesim -h lists the flags")
		return exitUsage
	case err != nil:
		fmt.Fprintln(stderr, "phonesim:", err)
		return exitSetup
	case rep != nil && rep.Reached < rep.Total:
		fmt.Fprintf(stderr, "phonesim: %d/%d phones %s, want all (-expect)\n", rep.Reached, rep.Total, rep.Expect)
		return exitShort
	}
	return exitOK
}

// run simulates the fleet the flags in args describe and writes the report
// to stdout. It returns an error only when the fleet could not be set up, or
// errInterrupted when ctx ended before the phones were done; whether every
// phone reached the -expect outcome is simulate's report (and cli's exit
// status), not an error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	_, err := simulate(ctx, args, stdout, stderr)
	return err
}

// simulate is run that also returns the report it printed (nil when it
// printed none: a setup error, -h or -version).
func simulate(ctx context.Context, args []string, stdout, stderr io.Writer) (*Report, error) {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return nil, err
	}
	if o.version {
		fmt.Fprintf(stdout, "phonesim %s %s/%s %s\n", version, runtime.GOOS, runtime.GOARCH, runtime.Version())
		return nil, nil
	}
	level := slog.LevelWarn
	if o.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	runCtx, cancel := context.WithTimeoutCause(ctx, o.timeout, errTimeout)
	defer cancel()
	f, err := newFleet(o, log)
	if err != nil {
		return nil, err
	}
	log.Info("starting", "phones", o.n, "first_ip", o.firstIP, "first_mac", o.firstMAC, "target", o.target, "seed", o.seed)
	rep := f.run(runCtx)
	rep.count(o.expect)
	if rep.Ended != endDone {
		fmt.Fprintf(stderr, "phonesim: %s before every phone was done\n", rep.Ended)
	}
	if o.json {
		err = rep.writeJSON(stdout)
	} else {
		err = rep.writeText(stdout)
	}
	if err != nil {
		return rep, fmt.Errorf("write report: %w", err)
	}
	if rep.Ended == endInterrupted {
		return rep, errInterrupted
	}
	return rep, nil
}

// options are the parsed and checked flags.
type options struct {
	n           int
	firstIP     netip.Addr
	port        int
	iface       string
	target      netip.AddrPort
	firstMAC    appliance.MAC
	models      []string
	firmware    string
	tries       int
	interval    time.Duration
	newTx       bool
	loss        float64
	seed        uint64
	spread      time.Duration
	reboot      time.Duration
	linger      time.Duration
	timeout     time.Duration
	httpTimeout time.Duration
	expect      string
	json        bool
	verbose     bool
	version     bool
}

// grandstreamOUI is the prefix of the default MACs (000B82 is Grandstream's).
var grandstreamOUI = [3]byte{0x00, 0x0b, 0x82}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{target: netip.MustParseAddrPort("224.0.1.75:5060")}
	fs := flag.NewFlagSet("phonesim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: phonesim -first-ip ADDR [flags]\n\n"+
			"Simulates factory-default Grandstream GXP21xx phones doing SIP Plug-and-Play.\n\n")
		fs.PrintDefaults()
	}
	var firstIP, firstMAC, models string
	target := o.target.String()
	fs.IntVar(&o.n, "n", 1, "number of phones")
	fs.StringVar(&firstIP, "first-ip", "", "IPv4 address of the first phone; phone i binds first-ip+i (required)")
	fs.IntVar(&o.port, "port", 5060, "SIP port every phone binds (0: an ephemeral port each)")
	fs.StringVar(&o.iface, "iface", "", "interface multicast SUBSCRIBEs leave by (default: the one holding each phone's address)")
	fs.StringVar(&target, "target", target, "where SUBSCRIBEs go: the PnP group, or the box's unicast ip:port")
	fs.StringVar(&firstMAC, "first-mac", "", "MAC of the first phone; phone i gets first-mac+i (default: 000B82 and the low 3 bytes of -first-ip, so fleets on different addresses differ)")
	fs.StringVar(&models, "models", "GXP2130,GXP2140,GXP2160", "models, comma-separated, given to the phones in turn")
	fs.StringVar(&o.firmware, "firmware", "1.0.11.3", "firmware version the phones report")
	fs.IntVar(&o.tries, "tries", 5, "SUBSCRIBEs per boot at most")
	fs.DurationVar(&o.interval, "interval", time.Second, "time between SUBSCRIBE tries")
	fs.BoolVar(&o.newTx, "new-tx", false, "give each try a new CSeq and branch (default: retransmit the same transaction)")
	fs.Float64Var(&o.loss, "loss", 0, "probability of ignoring each response to a SUBSCRIBE, to force retries")
	fs.Uint64Var(&o.seed, "seed", 0, "seed for tags, branches, Call-IDs and -loss (0: random; the report shows it)")
	fs.DurationVar(&o.spread, "spread", 0, "boot the phones evenly over this long instead of all at once")
	fs.DurationVar(&o.reboot, "reboot", 2*time.Second, "time from the first download to the reboot")
	fs.DurationVar(&o.linger, "linger", time.Second, "time a phone keeps listening after its second download, to catch a NOTIFY it should not get")
	fs.DurationVar(&o.timeout, "timeout", 2*time.Minute, "bound on the whole run")
	fs.DurationVar(&o.httpTimeout, "http-timeout", 10*time.Second, "bound on each config download")
	fs.BoolVar(&o.json, "json", false, "print the report as JSON")
	fs.BoolVar(&o.verbose, "v", false, "log every phone's steps to stderr")
	fs.StringVar(&o.expect, "expect", outcomeProvisioned, "the outcome every phone must reach for exit status 0: provisioned, notified, answered (a 200 to its SUBSCRIBE) or none")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, errReported
	}
	if fs.NArg() > 0 {
		return nil, usageError{fmt.Errorf("unexpected arguments %q", fs.Args())}
	}
	if o.version {
		return o, nil
	}
	if err := o.set(firstIP, firstMAC, models, target); err != nil {
		return nil, usageError{err}
	}
	if o.seed == 0 {
		o.seed = rand.Uint64()
	}
	return o, nil
}

// set parses the flags that need it and checks them all.
func (o *options) set(firstIP, firstMAC, models, target string) error {
	if o.n < 1 {
		return fmt.Errorf("-n %d: want at least 1", o.n)
	}
	if firstIP == "" {
		return errors.New("-first-ip is required")
	}
	ip, err := netip.ParseAddr(firstIP)
	if err != nil || !ip.Is4() {
		return fmt.Errorf("-first-ip %q: want an IPv4 address", firstIP)
	}
	o.firstIP = ip
	if uint64(ipv4Uint(ip))+uint64(o.n-1) > 0xffffffff {
		return fmt.Errorf("-first-ip %s -n %d: runs past 255.255.255.255", ip, o.n)
	}
	if o.port < 0 || o.port > 65535 {
		return fmt.Errorf("-port %d: want 0-65535", o.port)
	}
	t, err := netip.ParseAddrPort(target)
	if err != nil || !t.Addr().Is4() || t.Port() == 0 {
		return fmt.Errorf("-target %q: want an IPv4 ip:port", target)
	}
	o.target = t

	if firstMAC == "" {
		a := ip.As4()
		o.firstMAC = appliance.MAC{grandstreamOUI[0], grandstreamOUI[1], grandstreamOUI[2], a[1], a[2], a[3]}
	} else if o.firstMAC, err = appliance.ParseMAC(firstMAC); err != nil {
		return fmt.Errorf("-first-mac: %w", err)
	}
	if nic := uint32(o.firstMAC[3])<<16 | uint32(o.firstMAC[4])<<8 | uint32(o.firstMAC[5]); uint64(nic)+uint64(o.n-1) > 0xffffff {
		return fmt.Errorf("-first-mac %s -n %d: runs out of the %X OUI", o.firstMAC, o.n, o.firstMAC[:3])
	}
	for m := range strings.SplitSeq(models, ",") {
		if m = strings.TrimSpace(m); m != "" {
			o.models = append(o.models, m)
		}
	}
	if len(o.models) == 0 {
		return errors.New("-models: want at least one model")
	}
	switch {
	case o.firmware == "":
		return errors.New("-firmware: want a version")
	case o.tries < 1:
		return fmt.Errorf("-tries %d: want at least 1", o.tries)
	case o.interval <= 0:
		return fmt.Errorf("-interval %v: want more than 0", o.interval)
	case !(o.loss >= 0 && o.loss <= 1):
		return fmt.Errorf("-loss %v: want a probability, 0 to 1", o.loss)
	case o.spread < 0 || o.reboot < 0 || o.linger < 0:
		return errors.New("-spread, -reboot and -linger cannot be negative")
	case o.timeout <= 0 || o.httpTimeout <= 0:
		return errors.New("-timeout and -http-timeout must be more than 0")
	case !slices.Contains(outcomes, o.expect):
		return fmt.Errorf("-expect %q: want one of %s", o.expect, strings.Join(outcomes, ", "))
	}
	return nil
}

// ip is phone i's address.
func (o *options) ip(i int) netip.Addr {
	v := ipv4Uint(o.firstIP) + uint32(i)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// mac is phone i's MAC: the first MAC plus i, within its OUI.
func (o *options) mac(i int) appliance.MAC {
	m := o.firstMAC
	nic := (uint32(m[3])<<16 | uint32(m[4])<<8 | uint32(m[5])) + uint32(i)
	m[3], m[4], m[5] = byte(nic>>16), byte(nic>>8), byte(nic)
	return m
}

func ipv4Uint(ip netip.Addr) uint32 {
	a := ip.As4()
	return uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
}
