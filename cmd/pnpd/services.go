package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pnpbox/pnpbox/appliance/pnp"
	"github.com/pnpbox/pnpbox/appliance/provision"
	"github.com/pnpbox/pnpbox/appliance/store"
	"github.com/pnpbox/pnpbox/board/watchdog"
)

// runWatchdog feeds /dev/watchdog (-watchdog, the box's init passes it)
// while the SIP server and the coordinator answer and the store can be
// read; a deadlock in any of them starves the dog and the board resets.
// Without -watchdog it returns at once.
func runWatchdog(ctx context.Context, o *options, st *store.Store, coord *provision.Coordinator, sip *pnp.Server, log *slog.Logger) error {
	if !o.watchdog {
		return nil
	}
	dog, err := watchdog.Open()
	if err != nil {
		return fmt.Errorf("-watchdog: %w", err)
	}
	f := &watchdog.Feeder{Dog: dog, Log: log, Healthy: func() error {
		sip.Stats()    // the SIP server's counters lock
		coord.Status() // the coordinator's lock
		if _, err := st.Events(store.EventFilter{Limit: 1}); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		return nil
	}}
	return f.Run(ctx)
}
