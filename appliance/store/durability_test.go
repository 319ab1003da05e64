package store

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pnpbox/pnpbox/appliance"
	bolt "go.etcd.io/bbolt"
)

// fill writes n phones with assignments and events, in batches of 50, so
// the file has branch pages, overflow-free leaves and a freelist.
func fill(t testing.TB, s *Store, n int) {
	t.Helper()
	var seq uint64
	for i := 0; i < n; i += 50 {
		w := Write{Assignments: map[appliance.MAC]appliance.Assignment{}}
		for j := i; j < min(i+50, n); j++ {
			m := appliance.MAC{0x00, 0x0b, 0x82, 0, byte(j >> 8), byte(j)}
			w.Phones = append(w.Phones, appliance.Phone{MAC: m, State: appliance.StateAssigned, Token: fmt.Sprintf("%032x", j)})
			w.Assignments[m] = appliance.Assignment{Extension: fmt.Sprint(200 + j), Password: "pw-" + fmt.Sprint(j), DisplayName: strings.Repeat("x", 40)}
			seq++
			w.Events = append(w.Events, appliance.Event{Seq: seq, MAC: m, Kind: appliance.EventAssigned, Detail: "extension"})
		}
		if err := s.Apply(w); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSnapshotsRotate(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 11, 28, 2, 0, 0, 0, time.UTC)
	s, err := OpenWith(filepath.Join(dir, "phones.db"), Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fill(t, s, 10)
	for range 5 {
		if _, err := s.Snapshot(KindDaily); err != nil {
			t.Fatal(err)
		}
		now = now.Add(24 * time.Hour)
	}
	if _, err := s.Snapshot(KindPreRestore); err != nil {
		t.Fatal(err)
	}
	snaps, err := s.Snapshots()
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, sn := range snaps {
		kinds = append(kinds, sn.Time.Format("01-02")+" "+sn.Kind)
		if _, err := verifyFile(sn.Path); err != nil {
			t.Errorf("snapshot %s: %v", sn.Path, err)
		}
	}
	want := "12-03 prerestore,12-02 daily,12-01 daily,11-30 daily"
	if got := strings.Join(kinds, ","); got != want {
		t.Errorf("snapshots %s, want %s", got, want)
	}
	// Due only once a day.
	if p, err := s.SnapshotIfDue(KindDaily, 24*time.Hour); err != nil || p == "" {
		t.Errorf("SnapshotIfDue a day after the last: %q, %v", p, err)
	}
	if p, err := s.SnapshotIfDue(KindDaily, 24*time.Hour); err != nil || p != "" {
		t.Errorf("SnapshotIfDue right after one: %q, %v", p, err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "snapshots", ".tmp-*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestOpenSchema1Migrates: the schema-1 fixture is snapshotted, then
// migrated; the snapshot is still a schema-1 file, and a second open
// migrates (and snapshots) nothing.
func TestOpenSchema1Migrates(t *testing.T) {
	path := copyFixture(t, "schema1.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if snap.Schema != SchemaVersion || len(snap.PoolIssued) != 0 || len(snap.Alerts) != 0 {
		t.Errorf("after migration: schema %d, pool %v, alerts %v", snap.Schema, snap.PoolIssued, snap.Alerts)
	}
	if err := s.Apply(Write{PoolIssued: map[string]PoolGrant{"250": {MAC: mac(t, "000B82000002")}}}); err != nil {
		t.Fatalf("write the new bucket: %v", err)
	}
	snaps, _ := s.Snapshots()
	s.Close()
	if len(snaps) != 1 || snaps[0].Kind != "premigrate-v1" {
		t.Fatalf("snapshots %+v, want one premigrate-v1", snaps)
	}
	info, err := verifyFile(snaps[0].Path)
	if err != nil || info.Schema != 1 || info.Phones != 3 {
		t.Errorf("pre-migration snapshot: %+v, %v", info, err)
	}
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if again, _ := s.Snapshots(); len(again) != 1 {
		t.Errorf("second open took another snapshot: %+v", again)
	}
}

// damage describes one way a database file gets hurt.
type damage struct {
	name string
	// hurt changes the file at path; good is the file before the last
	// transaction (what reverting it should give back).
	hurt func(t *testing.T, path string)
	// want is what the recovery may do: "revert", "snapshot", "empty"
	// (separated by | when either is right).
	want string
}

func TestRecoverDamagedFile(t *testing.T) {
	for _, tc := range []struct {
		damage
		snapshot bool
	}{
		{damage{"last transaction's pages overwritten", hurtLastTxPages, "revert"}, false},
		{damage{"truncated to half", truncateHalf, "snapshot"}, true},
		{damage{"truncated to half, no snapshot", truncateHalf, "empty"}, false},
		{damage{"both meta pages zeroed", zeroMetas, "snapshot"}, true},
		{damage{"page cycle", makeCycle, "revert|snapshot"}, true},
		{damage{"a record that is not JSON, written long ago", badRecord, "snapshot"}, true},
		{damage{"random bytes", randomFile, "empty"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "phones.db")
			s, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			fill(t, s, 300)
			if tc.snapshot {
				if _, err := s.Snapshot(KindDaily); err != nil {
					t.Fatal(err)
				}
			}
			// The last transaction: one more assignment.
			last := mac(t, "000B82FFFFFF")
			if err := s.Apply(Write{Assignments: map[appliance.MAC]appliance.Assignment{last: {Extension: "999", Password: "x"}}}); err != nil {
				t.Fatal(err)
			}
			s.Close()
			tc.hurt(t, path)

			if _, err := Open(path); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open without Recover: %v, want ErrCorrupt", err)
			}
			s, err = OpenWith(path, Options{Recover: true})
			if err != nil {
				t.Fatalf("OpenWith Recover: %v", err)
			}
			defer s.Close()
			rec := s.Recovery()
			if rec == nil {
				t.Fatal("no recovery reported")
			}
			if _, err := os.Stat(rec.MovedTo); err != nil || !strings.Contains(rec.MovedTo, "phones.db.corrupt-") {
				t.Errorf("damaged file not kept: %q, %v", rec.MovedTo, err)
			}
			snap, err := s.Load()
			if err != nil {
				t.Fatal(err)
			}
			var got string
			switch {
			case len(snap.Assignments) == 0 && len(snap.Phones) == 0:
				got = "empty"
			case len(snap.Assignments) != 300:
				got = fmt.Sprintf("%d assignments, want 300", len(snap.Assignments))
			case rec.From != "":
				got = "snapshot"
			default:
				got = "revert"
			}
			if !slices.Contains(strings.Split(tc.want, "|"), got) {
				t.Errorf("recovery did %q (%s), want %q", got, rec.Action, tc.want)
			}
			if _, ok := snap.Assignments[last]; ok && got == "revert" {
				t.Error("the damaged last transaction survived the revert")
			}
			if len(snap.Alerts) != 1 || snap.Alerts[0].Kind != appliance.AlertDatabaseRecovered || !strings.Contains(snap.Alerts[0].Message, "phones.db.corrupt-") {
				t.Errorf("alerts: %+v", snap.Alerts)
			}
			evs, _ := s.Events(EventFilter{Since: snap.LastEvent - 1})
			if len(evs) != 1 || evs[0].Kind != appliance.EventError || !strings.Contains(evs[0].Detail, "damaged") {
				t.Errorf("events: %+v", evs)
			}
			checkBolt(t, s)
			// And it is an ordinary database again.
			if err := s.Apply(Write{Assignments: map[appliance.MAC]appliance.Assignment{last: {Extension: "999", Password: "y"}}}); err != nil {
				t.Errorf("write after recovery: %v", err)
			}
		})
	}
}

func checkBolt(t *testing.T, s *Store) {
	t.Helper()
	err := s.view(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	})
	if err != nil {
		t.Errorf("bbolt check: %v", err)
	}
}

// hurtLastTxPages overwrites the pages only the last transaction wrote
// (its meta page says where the tree is; the previous meta's tree does not
// use them), as a lying fdatasync would leave them (bbolt #778).
func hurtLastTxPages(t *testing.T, path string) {
	buf, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	metas, err := readMetas(buf)
	if err != nil || len(metas) != 2 {
		t.Fatalf("metas: %v %v", metas, err)
	}
	ps := metas[0].pageSize
	// The new root page of the last transaction.
	root := metas[0].root
	copy(buf[root*ps+8:], []byte{0x7f, 0x7f}) // a page type that does not exist
	os.WriteFile(path, buf, 0o600)
}

func truncateHalf(t *testing.T, path string) {
	st, _ := os.Stat(path)
	if err := os.Truncate(path, st.Size()/2); err != nil {
		t.Fatal(err)
	}
}

func zeroMetas(t *testing.T, path string) {
	buf, _ := os.ReadFile(path)
	clear(buf[:2*4096])
	os.WriteFile(path, buf, 0o600)
}

// makeCycle points the first element of the root branch page of the
// phones bucket at that page itself.
func makeCycle(t *testing.T, path string) {
	buf, _ := os.ReadFile(path)
	metas, _ := readMetas(buf)
	ps := metas[0].pageSize
	done := false
	for id := uint64(2); id < metas[0].hwm && !done; id++ {
		p := buf[id*ps:]
		if ne.Uint64(p) == id && ne.Uint16(p[8:]) == flagBranch {
			ne.PutUint64(p[pageHeaderSize+8:], id)
			done = true
		}
	}
	if !done {
		t.Fatal("no branch page to loop")
	}
	os.WriteFile(path, buf, 0o600)
}

// badRecord changes bytes inside a phone's JSON in every copy of the
// page that holds it, so no meta page leads to a sound file.
func badRecord(t *testing.T, path string) {
	buf, _ := os.ReadFile(path)
	needle := []byte(`"token":"` + fmt.Sprintf("%032x", 7))
	n := 0
	for i := bytes.Index(buf, needle); i >= 0; i = bytes.Index(buf, needle) {
		buf[i] = '{'
		n++
	}
	if n == 0 {
		t.Fatal("record not found")
	}
	os.WriteFile(path, buf, 0o600)
}

func randomFile(t *testing.T, path string) {
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 64<<10)
	for i := range buf {
		buf[i] = byte(r.Uint32())
	}
	os.WriteFile(path, buf, 0o600)
}

// TestVerifyNeverCrashes damages a real file at thousands of places in the
// page headers and elements bbolt trusts: verifyFile must say "corrupt" or
// "fine", never crash the process, and whatever it calls fine must load.
func TestVerifyNeverCrashes(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "phones.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	fill(t, s, 300)
	s.Close()
	good, _ := os.ReadFile(path)
	metas, _ := readMetas(good)
	ps := int(metas[0].pageSize)
	r := rand.New(rand.NewPCG(3, 4))
	n := 500
	if testing.Short() {
		n = 100
	}
	bad := filepath.Join(dir, "bad.db")
	var corrupt, fine int
	for i := range n {
		buf := bytes.Clone(good)
		page := r.IntN(len(buf) / ps)
		// Mostly the header and the first elements: where page numbers,
		// counts and offsets live.
		off := page*ps + r.IntN(64+48*(i%4))
		for range 1 + r.IntN(4) {
			buf[off+r.IntN(8)] = byte(r.Uint32())
		}
		if err := os.WriteFile(bad, buf, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := verifyFile(bad)
		switch {
		case err == nil:
			fine++
		case errors.Is(err, ErrCorrupt):
			corrupt++
		default:
			t.Fatalf("mutation %d (page %d, offset %d): %v", i, page, off, err)
		}
	}
	t.Logf("%d mutations: %d found corrupt, %d harmless (free pages, unused bytes)", n, corrupt, fine)
	if corrupt == 0 {
		t.Error("no mutation was found corrupt: the check checks nothing")
	}
}

func FuzzVerify(f *testing.F) {
	dir := f.TempDir()
	path := filepath.Join(dir, "seed.db")
	s, err := Open(path)
	if err != nil {
		f.Fatal(err)
	}
	fill(f, s, 120)
	s.Close()
	seed, _ := os.ReadFile(path)
	f.Add(seed)
	f.Add(seed[:len(seed)/2])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(t.TempDir(), "f.db")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := verifyFile(p); err != nil {
			return
		}
		// What passed must open and load in the Store.
		s, err := Open(p)
		if err != nil {
			if errors.Is(err, ErrTooNew) {
				return
			}
			t.Fatalf("verified file does not open: %v", err)
		}
		defer s.Close()
		if _, err := s.Load(); err != nil {
			t.Fatalf("verified file does not load: %v", err)
		}
	})
}

func TestRestoreReplaces(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(filepath.Join(dir, "phones.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fill(t, s, 20)
	var backup bytes.Buffer
	if _, err := s.WriteTo(&backup); err != nil {
		t.Fatal(err)
	}
	// After the backup: one more assignment, which the restore replaces
	// but the prerestore snapshot keeps.
	later := mac(t, "000B82FFFFFF")
	if err := s.Apply(Write{Assignments: map[appliance.MAC]appliance.Assignment{later: {Extension: "999", Password: "x"}}}); err != nil {
		t.Fatal(err)
	}

	for _, bad := range [][]byte{nil, []byte("PK\x03\x04 not a database"), backup.Bytes()[:backup.Len()/2]} {
		if _, err := s.Stage(bytes.NewReader(bad)); !errors.Is(err, ErrBadBackup) {
			t.Errorf("Stage(%d bytes) = %v, want ErrBadBackup", len(bad), err)
		}
	}
	st, err := s.Stage(bytes.NewReader(backup.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if st.Info.Assignments != 20 || st.Info.Schema != SchemaVersion {
		t.Errorf("staged: %+v", st.Info)
	}
	if err := st.Finish(Write{Events: []appliance.Event{{Seq: st.Info.LastEvent + 1, Kind: appliance.EventRestore}}}); err != nil {
		t.Fatal(err)
	}
	prev, err := s.Replace(st)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := snap.Assignments[later]; ok || len(snap.Assignments) != 20 || snap.LastEvent != 21 {
		t.Errorf("after restore: %d assignments, last event %d", len(snap.Assignments), snap.LastEvent)
	}
	if info, err := verifyFile(prev); err != nil || info.Assignments != 21 {
		t.Errorf("previous database kept as %s: %+v, %v", prev, info, err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "phones.db.tmp-*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
	checkBolt(t, s)
}

// TestRestoreOlderSchema: a backup made by schema-1 firmware is migrated
// in the staged copy and then replaces the database.
func TestRestoreOlderSchema(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "phones.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	old, err := os.ReadFile(filepath.Join("testdata", "schema1.db"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.Stage(bytes.NewReader(old))
	if err != nil {
		t.Fatal(err)
	}
	if st.Info.Schema != 1 || st.Info.Phones != 3 {
		t.Errorf("staged %+v", st.Info)
	}
	if err := st.Finish(Write{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Replace(st); err != nil {
		t.Fatal(err)
	}
	snap, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if snap.Schema != SchemaVersion || len(snap.Phones) != 3 || len(snap.Assignments) != 2 {
		t.Errorf("after restoring a schema-1 backup: schema %d, %d phones, %d assignments", snap.Schema, len(snap.Phones), len(snap.Assignments))
	}
	if err := s.Apply(Write{PoolIssued: map[string]PoolGrant{"200": {}}}); err != nil {
		t.Errorf("write to the migrated bucket: %v", err)
	}
}
