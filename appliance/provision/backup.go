package provision

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/appliance/store"
)

// Backup writes a consistent copy of the whole database to w, after
// writing what network traffic changed (so the copy is current). The copy
// holds secrets: SIP passwords, tokens, the admin password's hash.
func (c *Coordinator) Backup(w io.Writer) (int64, error) {
	c.flush(true) // best effort: a failing disk still has a database to copy
	n, err := c.store.WriteTo(w)
	if err != nil {
		return n, fmt.Errorf("backup: %w", err)
	}
	return n, nil
}

// ErrBadBackup is wrapped by every Restore error that says the uploaded
// file is not a usable backup (nothing was changed).
var ErrBadBackup = store.ErrBadBackup

// RestoreResult says what a restore did.
type RestoreResult struct {
	Phones      int    `json:"phones"`
	Assignments int    `json:"assignments"`
	Schema      int    `json:"schema"`
	Previous    string `json:"previous"` // the snapshot (file name) of the database it replaced
}

// Restore replaces the whole state with a backup read from r. The upload
// is staged and checked in full first (errors wrap ErrBadBackup), so
// a bad file changes nothing. Then, holding the coordinator's lock (no
// API change and no flush can run in between): traffic changes still
// queued are written to the current database, which is kept as a
// "prerestore" snapshot; the backup, with the admin password in use now
// (a restore must not lock the installer out) and a restore event, is
// renamed into place; and the in-memory state is reloaded from it. Every
// write acknowledged before the restore is in the kept snapshot; every one
// after it is in the restored database.
func (c *Coordinator) Restore(r io.Reader) (RestoreResult, error) {
	st, err := c.store.Stage(r)
	if err != nil {
		return RestoreResult{}, err
	}
	defer st.Discard()

	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.flushLocked(true); err != nil {
		c.log.Warn("restore: could not write queued changes to the database being replaced", "err", err)
	}
	w := store.Write{Events: []appliance.Event{{Seq: st.Info.LastEvent + 1, Time: c.now().UTC(), Kind: appliance.EventRestore,
		Detail: fmt.Sprintf("restored a backup: %d phones, %d assignments (schema %d)", st.Info.Phones, st.Info.Assignments, st.Info.Schema)}}}
	if c.admin != nil {
		w.Admin = c.admin
	}
	if err := st.Finish(w); err != nil {
		return RestoreResult{}, fmt.Errorf("restore: %w", err)
	}
	prev, err := c.store.Replace(st)
	if err != nil {
		// Replace leaves the previous database open when it cannot swap;
		// memory still matches it.
		return RestoreResult{}, fmt.Errorf("restore: %w", err)
	}
	snap, err := c.store.Load()
	if err != nil {
		return RestoreResult{}, fmt.Errorf("restore: reload: %w", err)
	}
	c.loadLocked(snap)
	c.log.Info("database restored from a backup", "phones", len(snap.Phones), "assignments", len(snap.Assignments), "previous", prev)
	return RestoreResult{Phones: len(snap.Phones), Assignments: len(snap.Assignments), Schema: st.Info.Schema, Previous: filepath.Base(prev)}, nil
}
