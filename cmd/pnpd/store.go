// Opening the database and taking its daily snapshots.

package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/pnpbox/pnpbox/appliance/store"
)

// openStore opens the database in the data directory. A damaged file is
// never fatal: the store moves it aside and starts from the best sound
// copy (see store.Options.Recover), and raises an alert that keeps the LED
// at error until the installer acknowledges it.
func openStore(data string, log *slog.Logger) (*store.Store, error) {
	st, err := store.OpenWith(filepath.Join(data, "phones.db"), store.Options{Recover: true, Log: log.With("component", "store")})
	if err != nil {
		return nil, err
	}
	if rec := st.Recovery(); rec != nil {
		log.Error("database was damaged and has been replaced", "moved_to", rec.MovedTo, "action", rec.Action)
	}
	return st, nil
}

// snapshotEvery is how often a daily snapshot is due; snapshotCheck how
// often that is checked (a box is often switched off at night, so a timer
// of 24 h would rarely fire).
const (
	snapshotEvery = 24 * time.Hour
	snapshotCheck = time.Hour
)

// snapshotLoop takes the daily snapshot: at start when the last one is
// older than a day, then whenever one is due.
func snapshotLoop(ctx context.Context, st *store.Store, log *slog.Logger) {
	t := time.NewTicker(snapshotCheck)
	defer t.Stop()
	for {
		if path, err := st.SnapshotIfDue(store.KindDaily, snapshotEvery); err != nil {
			log.Warn("daily snapshot failed", "err", err)
		} else if path != "" {
			log.Info("daily snapshot", "path", path)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
