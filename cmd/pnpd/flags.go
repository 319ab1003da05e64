package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

type options struct {
	iface         string
	data          string
	http          string
	sipPort       int
	board         string
	adminPassword string
	net           string
	logLevel      string
	version       bool
}

func envName(flagName string) string {
	return "PNPD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("pnpd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.iface, "iface", "", "LAN interface (default: the default route's interface, else the first up, multicast-capable, non-loopback interface with IPv4)")
	fs.StringVar(&o.data, "data", "/data/pnpd", "directory for persistent state")
	fs.StringVar(&o.http, "http", ":80", "address for the status page, API and provisioning files")
	fs.IntVar(&o.sipPort, "sip-port", 5060, "UDP port for SIP Plug-and-Play")
	fs.StringVar(&o.board, "board", "auto", "front panel: auto, rpi or sim (auto: rpi when a GPIO chip is present)")
	fs.StringVar(&o.adminPassword, "admin-password", "", "set the admin password at start (at least 8 characters)")
	fs.StringVar(&o.net, "net", "none", "who configures the interface: none (leave it alone), dhcp or static")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	// PNPD_<NAME> from the environment, below what the command line says.
	// Value.Set (not fs.Set) keeps them out of fs.Visit, which then lists
	// just the command line's.
	var envErr error
	fromEnv := map[string]string{}
	fs.VisitAll(func(f *flag.Flag) {
		name := envName(f.Name)
		if v, ok := os.LookupEnv(name); ok && envErr == nil {
			if err := f.Value.Set(v); err != nil {
				envErr = fmt.Errorf("%s=%q: %w", name, v, err)
			}
			fromEnv[f.Name] = name
		}
	})
	if envErr != nil {
		return nil, envErr
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	fs.Visit(func(f *flag.Flag) { delete(fromEnv, f.Name) })
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
		return nil, fmt.Errorf("%s %q: want auto, rpi or sim", src("board"), o.board)
	}
	switch o.net {
	case "none", "dhcp", "static":
	default:
		return nil, fmt.Errorf("%s %q: want none, dhcp or static", src("net"), o.net)
	}
	if o.sipPort < 0 || o.sipPort > 65535 {
		return nil, fmt.Errorf("%s %d: out of range", src("sip-port"), o.sipPort)
	}
	return o, nil
}
