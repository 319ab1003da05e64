package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"testing"
)

// TestMain lets the test binary stand in for pnpd: with
// PNPBOX_TEST_DAEMON=1 it runs the daemon with its arguments instead of
// the tests. The network namespace tests start it that way inside a
// namespace (`ip netns exec NS /proc/self/exe -iface lan0 …`), so they
// need no separate build.
func TestMain(m *testing.M) {
	if os.Getenv("PNPBOX_TEST_DAEMON") == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
		stop()
		if err != nil {
			fmt.Fprintf(os.Stderr, "pnpd: %v\n", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
