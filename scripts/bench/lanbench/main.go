// Command lanbench measures pnpd on a LAN of network namespaces next to
// reference servers in the same run (Kamailio answering statelessly,
// nginx serving the same bytes) and writes a markdown report: make bench
// runs it through scripts/bench.sh.
//
//	lanbench run -out out/bench.md      the whole suite (root)
//	lanbench run -smoke                 seconds, no timed targets (CI)
//	lanbench flood -target ADDR …       the flood generator, run in a namespace
//
// All traffic stays in the namespaces it creates (198.18.0.0/16 for the
// LAN, 198.19.254.0/30 from this machine to the box) and every loop is
// bounded in count and time.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: lanbench run|flood [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "run":
		err = runSuite(ctx, os.Args[2:])
	case "flood":
		err = runFlood(ctx, os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "lanbench:", err)
		os.Exit(1)
	}
}
