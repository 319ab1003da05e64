package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/pnpbox/pnpbox/board/clock"
	"github.com/pnpbox/pnpbox/board/gpio"
)

type options struct {
	iface         string
	data          string
	http          string
	https         string // "" or "off": no HTTPS listener
	httpsExplicit bool   // -https or PNPD_HTTPS given (else a failing default only warns)
	sipPort       int
	sipSourceRate int
	board         string
	adminPassword string
	net           string
	logLevel      string
	version       bool
	level         slog.Level // parsed from logLevel
	watchdog      bool
	setClock      bool
	resolvConf    string

	ledGPIO, buttonGPIO string
	buttonActiveLow     bool

	addr, gw, vlanAddr string
	vlan               int
	dhcpTimeout        time.Duration
	// Parsed from the strings above.
	addrP, vlanAddrP netip.Prefix
	gwA              netip.Addr
}

// usageError is a bad flag, flag value or combination of them: the
// command line (or PNPD_* environment) must change, so pnpd exits 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usagef returns a usageError.
func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// printUsage writes what pnpd -h prints.
func printUsage(w io.Writer) {
	fs := newFlagSet(&options{})
	fs.SetOutput(w)
	fmt.Fprint(w, "Usage: pnpd [flags]\n\n"+
		"Answers SIP Plug-and-Play from factory-default phones on the LAN and provisions them.\n"+
		"Every flag can also be given as PNPD_<NAME> in the environment (PNPD_ADMIN_PASSWORD, …);\n"+
		"the command line wins.\n\n")
	fs.PrintDefaults()
}

func envName(flagName string) string {
	return "PNPD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// newFlagSet declares pnpd's flags into o. The set prints nothing: parse
// errors come back as errors, and -h is printUsage's.
func newFlagSet(o *options) *flag.FlagSet {
	fs := flag.NewFlagSet("pnpd", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.iface, "iface", "", "LAN interface (default: the default route's interface, else the first up, multicast-capable, non-loopback interface with IPv4; with -net dhcp|static the first Ethernet interface); several, comma-separated, are all served, and -net applies to the first")
	fs.StringVar(&o.data, "data", "/data/pnpd", "directory for persistent state")
	fs.StringVar(&o.http, "http", ":80", "address for the status page, API and provisioning files")
	fs.StringVar(&o.https, "https", ":443", "address for the page, API and provisioning files over TLS on the box's own certificate (kept in -data); off: none")
	fs.IntVar(&o.sipPort, "sip-port", 5060, "UDP port for SIP Plug-and-Play")
	fs.IntVar(&o.sipSourceRate, "sip-source-rate", 20, "SIP packets/s one source address may send before the rest are dropped unparsed (burst: twice that; new SUBSCRIBE transactions among them: N/6 at once, at least 2, then N/100 a second); 0 = no per-source limit")
	fs.StringVar(&o.board, "board", "auto", "front panel: auto, rpi or sim (auto: rpi when a GPIO chip is present)")
	fs.StringVar(&o.adminPassword, "admin-password", "", "set the admin password at start (at least 8 characters)")
	fs.StringVar(&o.net, "net", "none", "who configures the interface: none (leave it alone), dhcp or static")
	fs.StringVar(&o.ledGPIO, "led-gpio", gpio.DefaultLED, "status LED line (-board rpi): a line name (GPIO17), a number (17) or CHIP:OFFSET (gpiochip0:17)")
	fs.StringVar(&o.buttonGPIO, "button-gpio", gpio.DefaultButton, "front-panel button line (-board rpi), named like -led-gpio")
	fs.BoolVar(&o.buttonActiveLow, "button-active-low", true, "the button connects its line to ground (internal pull-up); false: to 3.3 V (pull-down)")
	fs.StringVar(&o.addr, "addr", "", "static address CIDR for -net static, or the fallback when DHCP gets no lease (default fallback: link-local 169.254/16)")
	fs.StringVar(&o.gw, "gw", "", "default gateway for -addr")
	fs.IntVar(&o.vlan, "vlan", 0, "voice VLAN ID: also serve phones on <iface>.<ID> (created with -net dhcp|static)")
	fs.StringVar(&o.vlanAddr, "vlan-addr", "", "address CIDR on the voice VLAN (-net static), or its DHCP fallback")
	fs.DurationVar(&o.dhcpTimeout, "dhcp-timeout", 30*time.Second, "how long DHCP may take before the fallback address is used (DHCP keeps trying)")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	fs.BoolVar(&o.setClock, "set-clock", false, "set the system clock by NTP: servers from DHCP (option 42), else the ntp_server setting, else "+clock.Pool+" (the box's init sets it; a laptop keeps its own)")
	fs.StringVar(&o.resolvConf, "resolv-conf", "", "with -net dhcp, write the lease's DNS servers to this file (the box: /etc/resolv.conf, a link into /run); empty: leave it alone")
	fs.BoolVar(&o.watchdog, "watchdog", false, "feed /dev/watchdog while healthy, so a hung pnpd resets the board (the box's init sets it; never on a laptop)")
	return fs
}

// parseFlags parses and checks args and the PNPD_* environment. Errors are
// usageErrors, except flag.ErrHelp for -h.
func parseFlags(args []string) (*options, error) {
	o := &options{}
	fs := newFlagSet(o)
	// PNPD_<NAME> from the environment, below what the command line says.
	// Value.Set (not fs.Set) keeps them out of fs.Visit, which then lists
	// just the command line's.
	var envErr error
	fromEnv := map[string]string{}
	fs.VisitAll(func(f *flag.Flag) {
		name := envName(f.Name)
		if v, ok := os.LookupEnv(name); ok && envErr == nil {
			if err := f.Value.Set(v); err != nil {
				envErr = usagef("%s=%q: %w", name, v, err)
			}
			fromEnv[f.Name] = name
		}
	})
	if envErr != nil {
		return nil, envErr
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, usageError{err}
	}
	if fs.NArg() > 0 {
		return nil, usagef("unexpected arguments: %q", fs.Args())
	}
	_, o.httpsExplicit = fromEnv["https"]
	fs.Visit(func(f *flag.Flag) {
		delete(fromEnv, f.Name)
		o.httpsExplicit = o.httpsExplicit || f.Name == "https"
	})
	if o.https == "off" {
		o.https = ""
	}
	// src names where a value came from, for error messages.
	src := func(flagName string) string {
		if e, ok := fromEnv[flagName]; ok {
			return e
		}
		return "-" + flagName
	}
	switch o.board {
	case "auto", "rpi", "sim":
	default:
		return nil, usagef("%s %q: want auto, rpi or sim", src("board"), o.board)
	}
	switch o.net {
	case "none", "dhcp", "static":
	default:
		return nil, usagef("%s %q: want none, dhcp or static", src("net"), o.net)
	}
	var err error
	if o.addr != "" {
		if o.addrP, err = netip.ParsePrefix(o.addr); err != nil || !o.addrP.Addr().Is4() {
			return nil, usagef("%s %q: want an IPv4 address with prefix length, e.g. 192.0.2.10/24", src("addr"), o.addr)
		}
	}
	if o.vlanAddr != "" {
		if o.vlanAddrP, err = netip.ParsePrefix(o.vlanAddr); err != nil || !o.vlanAddrP.Addr().Is4() {
			return nil, usagef("%s %q: want an IPv4 address with prefix length, e.g. 192.0.2.10/24", src("vlan-addr"), o.vlanAddr)
		}
	}
	if o.gw != "" {
		if o.gwA, err = netip.ParseAddr(o.gw); err != nil || !o.gwA.Is4() {
			return nil, usagef("%s %q: want an IPv4 address", src("gw"), o.gw)
		}
	}
	if o.net == "static" && o.addr == "" {
		return nil, usagef("%s static needs -addr (e.g. -addr 192.0.2.10/24)", src("net"))
	}
	if o.vlanAddr != "" && o.vlan == 0 {
		return nil, usagef("%s without -vlan", src("vlan-addr"))
	}
	if o.net == "static" && o.vlan != 0 && o.vlanAddr == "" {
		return nil, usagef("%s static with -vlan needs -vlan-addr", src("net"))
	}
	if o.vlan < 0 || o.vlan > 4094 {
		return nil, usagef("%s %d: want 1 to 4094", src("vlan"), o.vlan)
	}
	if o.dhcpTimeout <= 0 {
		return nil, usagef("%s %s: must be positive", src("dhcp-timeout"), o.dhcpTimeout)
	}
	if err := o.level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return nil, usagef("%s %q: want debug, info, warn or error", src("log-level"), o.logLevel)
	}
	if o.sipSourceRate < 0 {
		return nil, fmt.Errorf("%s %d: want 0 (off) or more", src("sip-source-rate"), o.sipSourceRate)
	}
	if o.sipPort < 0 || o.sipPort > 65535 {
		return nil, usagef("%s %d: out of range", src("sip-port"), o.sipPort)
	}
	return o, nil
}
