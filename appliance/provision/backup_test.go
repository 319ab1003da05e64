package provision

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/appliance/store"
)

func TestBackupRestore(t *testing.T) {
	f := newFixture(t)
	if err := f.c.SetAdminPassword("old-admin-password"); err != nil {
		t.Fatal(err)
	}
	kept, gone := mac(t, "000B82000001"), mac(t, "000B82000002")
	f.c.discover(disc(kept, "198.18.0.100", "c1"))
	if _, err := f.c.Assign(kept, assignment); err != nil {
		t.Fatal(err)
	}
	var backup bytes.Buffer
	if _, err := f.c.Backup(&backup); err != nil {
		t.Fatal(err)
	}
	// After the backup: a new assignment, a new admin password, a change.
	a := assignment
	a.Extension = "202"
	if _, err := f.c.Assign(gone, a); err != nil {
		t.Fatal(err)
	}
	if err := f.c.SetAdminPassword("new-admin-password"); err != nil {
		t.Fatal(err)
	}
	a.Extension, a.DisplayName = "201", "Changed"
	if _, err := f.c.Assign(kept, a); err != nil {
		t.Fatal(err)
	}
	tokenBefore := func() string { e, _ := f.c.Phone(kept); return e.Phone.Token }()

	if _, err := f.c.Restore(strings.NewReader("not a database")); !errors.Is(err, store.ErrBadBackup) {
		t.Fatalf("restore of garbage: %v", err)
	}
	if e, _ := f.c.Phone(gone); e.Assignment == nil {
		t.Fatal("a refused restore changed the state")
	}
	res, err := f.c.Restore(bytes.NewReader(backup.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if res.Phones != 1 || res.Assignments != 1 || !strings.Contains(res.Previous, "prerestore") {
		t.Errorf("result %+v", res)
	}
	if _, err := f.c.Phone(gone); !errors.Is(err, ErrNotFound) {
		t.Errorf("phone added after the backup: %v, want not found", err)
	}
	e, err := f.c.Phone(kept)
	if err != nil || e.Assignment.DisplayName != "Reception" || e.Phone.Token != tokenBefore {
		t.Errorf("restored phone %+v, %v", e, err)
	}
	if _, err := f.c.Download(DownloadRequest{Token: tokenBefore, File: "cfg.xml"}); err != nil {
		t.Errorf("the restored phone's token does not serve its config: %v", err)
	}
	if !f.c.CheckAdmin("new-admin-password") || f.c.CheckAdmin("old-admin-password") {
		t.Error("a restore must keep the admin password in use")
	}
	if got := f.events(t, appliance.EventRestore); len(got) != 1 {
		t.Errorf("restore events %q", got)
	}
	// The state survives a restart, and writes after the restore go to the
	// restored database.
	if _, err := f.c.Assign(gone, a); err != nil {
		t.Fatal(err)
	}
	c2, err := New(Config{Store: f.store, Notifier: f.n})
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := c2.Phone(gone); e.Assignment == nil || e.Assignment.DisplayName != "Changed" {
		t.Errorf("after restart: %+v", e)
	}
}
