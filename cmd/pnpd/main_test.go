package main

import (
	"context"
	"encoding/json"
	"os"
	"os/signal"
	"syscall"
	"testing"
)

// TestMain lets the test binary stand in for pnpd: with
// PNPBOX_TEST_DAEMON=1 it runs the daemon with its arguments instead of
// the tests. The network namespace tests start it that way inside a
// namespace (`ip netns exec NS /proc/self/exe -iface lan0 …`), so they
// need no separate build. With PNPBOX_TEST_READY=1 it writes run's ready
// signal (serving, as JSON) to file descriptor 3 and closes it.
func TestMain(m *testing.M) {
	if os.Getenv("PNPBOX_TEST_DAEMON") == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		var ready []func(serving)
		if os.Getenv("PNPBOX_TEST_READY") == "1" {
			ready = append(ready, func(s serving) {
				f := os.NewFile(3, "ready")
				json.NewEncoder(f).Encode(s)
				f.Close()
			})
		}
		code := exitStatus(run(ctx, os.Args[1:], os.Stdout, os.Stderr, ready...), os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}
