package main

import (
	"context"
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
		code := exitStatus(run(ctx, os.Args[1:], os.Stdout, os.Stderr), os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}
