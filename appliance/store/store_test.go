package store

import (
	"encoding/json"
	"errors"
	"net/netip"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/pnpbox/pnpbox/appliance"
	bolt "go.etcd.io/bbolt"
)

func mac(t *testing.T, s string) appliance.MAC {
	t.Helper()
	m, err := appliance.ParseMAC(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func openTemp(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "phones.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func TestApplyLoadRoundTrip(t *testing.T) {
	s, path := openTemp(t)
	m1, m2 := mac(t, "000B82000001"), mac(t, "000B82000002")
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	p1 := appliance.Phone{MAC: m1, Vendor: "Grandstream", Model: "GXP2140", State: appliance.StateAssigned,
		IP: netip.MustParseAddr("198.18.0.100"), SIPPort: 5060, FirstSeen: now, LastSeen: now, Token: "tok1",
		Dialog: &appliance.Dialog{CallID: "c1", LocalTag: "t", RemoteAddr: netip.MustParseAddrPort("198.18.0.100:5060")}}
	a1 := appliance.Assignment{Extension: "201", Password: "secret", Codecs: []string{"PCMU"}}
	a2 := appliance.Assignment{Extension: "202", Password: "secret2"}
	set := appliance.DefaultSettings()
	set.SIPServer = "pbx.example.net"
	cred, err := NewCredential("hunter2")
	if err != nil {
		t.Fatal(err)
	}
	err = s.Apply(Write{
		Phones:      []appliance.Phone{p1},
		Assignments: map[appliance.MAC]appliance.Assignment{m1: a1, m2: a2},
		Events:      []appliance.Event{{Seq: 1, Time: now, MAC: m1, Kind: "discovered"}},
		Settings:    &set,
		Admin:       cred,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(Write{DeleteAssignments: []appliance.MAC{m2}}); err != nil {
		t.Fatal(err)
	}
	if got := s.Commits(); got != 3 { // init + 2
		t.Errorf("commits = %d, want 3", got)
	}
	s.Close()

	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	snap, err := s2.Load()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[appliance.MAC]appliance.Phone{m1: p1}, snap.Phones, cmpopts.EquateComparable(netip.Addr{}, netip.AddrPort{})); diff != "" {
		t.Errorf("phones (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[appliance.MAC]appliance.Assignment{m1: a1}, snap.Assignments); diff != "" {
		t.Errorf("assignments (-want +got):\n%s", diff)
	}
	if snap.Settings.SIPServer != "pbx.example.net" || snap.LastEvent != 1 {
		t.Errorf("settings %+v last event %d", snap.Settings, snap.LastEvent)
	}
	if !snap.Admin.Verify("hunter2") || snap.Admin.Verify("hunter3") {
		t.Error("admin credential does not verify")
	}
}

func TestEventsBoundedAndFiltered(t *testing.T) {
	s, _ := openTemp(t)
	m1, m2 := mac(t, "000B82000001"), mac(t, "000B82000002")
	var seq uint64
	for batch := 0; batch < 21; batch++ {
		var evs []appliance.Event
		for i := 0; i < 500; i++ {
			seq++
			m := m1
			if seq%2 == 0 {
				m = m2
			}
			evs = append(evs, appliance.Event{Seq: seq, MAC: m, Kind: "download"})
		}
		if err := s.Apply(Write{Events: evs}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.Events(EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != MaxEvents || all[0].Seq != seq-MaxEvents+1 || all[len(all)-1].Seq != seq {
		t.Fatalf("kept %d events, %d..%d; want the newest %d", len(all), all[0].Seq, all[len(all)-1].Seq, MaxEvents)
	}
	mine, _ := s.Events(EventFilter{MAC: &m1, Since: seq - 10})
	if len(mine) != 5 {
		t.Errorf("%d events for m1 in the last 10", len(mine))
	}
	last3, _ := s.Events(EventFilter{Limit: 3})
	if len(last3) != 3 || last3[2].Seq != seq {
		t.Errorf("limit: %+v", last3)
	}
}

func TestOpenRejectsNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "phones.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error {
		b, _ := tx.CreateBucketIfNotExists(bucketMeta)
		return b.Put(keySchema, []byte("99"))
	})
	db.Close()
	_, err = Open(path)
	if err == nil || !strings.Contains(err.Error(), "newer than this firmware") {
		t.Errorf("err = %v", err)
	}
}

func TestOpenLocked(t *testing.T) {
	_, path := openTemp(t)
	_, err := Open(path)
	if !errors.Is(err, ErrLocked) {
		t.Errorf("second open: %v, want ErrLocked", err)
	}
}

// TestLoadAfterOpenIsCurrent: the first Load after Open hands over what
// verifying the file decoded; it must be the file's records, and once
// anything is committed, or another file restored, Load must read again
// rather than return that copy.
func TestLoadAfterOpenIsCurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "phones.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var w Write
	for i := range 600 { // enough records for several decoding goroutines
		m := appliance.MAC{0, 0x0b, 0x82, 0, byte(i >> 8), byte(i)}
		w.Phones = append(w.Phones, appliance.Phone{MAC: m, State: appliance.StateDiscovered, Token: m.Lower()})
	}
	w.Assignments = map[appliance.MAC]appliance.Assignment{w.Phones[7].MAC: {Extension: "207"}}
	if err := s.Apply(w); err != nil {
		t.Fatal(err)
	}
	want, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	reopen := func() *Store {
		t.Helper()
		s, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if s.opened.Load() == nil {
			t.Fatal("Open kept nothing of what it verified: the first Load decodes everything again")
		}
		return s
	}
	s = reopen()
	got, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty(), cmpopts.EquateComparable(netip.Addr{}, netip.AddrPort{})); diff != "" {
		t.Errorf("first Load after Open (-want +got):\n%s", diff)
	}
	s.Close()

	// A commit between Open and Load: Load sees it.
	s = reopen()
	extra := appliance.Phone{MAC: appliance.MAC{0, 0x0b, 0x82, 9, 9, 9}, State: appliance.StateDiscovered, Token: "t9"}
	if err := s.Apply(Write{Phones: []appliance.Phone{extra}}); err != nil {
		t.Fatal(err)
	}
	got, err = s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got.Phones[extra.MAC]; !ok || len(got.Phones) != len(want.Phones)+1 {
		t.Errorf("Load after a commit has %d phones (new one: %v), want %d: it returned the copy from Open", len(got.Phones), ok, len(want.Phones)+1)
	}
}

// TestLoadReportsFirstBadRecord: decoding runs on several goroutines, but
// the error names the first damaged record in key order, as a walk would.
func TestLoadReportsFirstBadRecord(t *testing.T) {
	s, _ := openTemp(t)
	var w Write
	for i := range 2000 {
		m := appliance.MAC{0, 0x0b, 0x82, 0, byte(i >> 8), byte(i)}
		w.Phones = append(w.Phones, appliance.Phone{MAC: m, State: appliance.StateDiscovered, Token: m.Lower()})
	}
	if err := s.Apply(w); err != nil {
		t.Fatal(err)
	}
	err := s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketPhones)
		for _, i := range []int{1900, 700, 1500} {
			if err := b.Put([]byte(w.Phones[i].MAC.String()), []byte("{")); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Load()
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), w.Phones[700].MAC.String()) {
		t.Errorf("Load = %v, want ErrCorrupt naming %s", err, w.Phones[700].MAC)
	}
}

// TestRecordDecodersAgree: the bulk records are decoded by the json/v2
// implementation; for every field a record can hold it must read what
// encoding/json wrote exactly as encoding/json reads it.
func TestRecordDecodersAgree(t *testing.T) {
	now := time.Date(2026, 11, 30, 8, 0, 0, 123456789, time.UTC)
	m := mac(t, "000B82ABCDEF")
	ip := netip.MustParseAddr("198.18.1.2")
	records := []any{
		&appliance.Phone{MAC: m, Vendor: "Grandstream", Model: "GXP2140", Firmware: "1.0.11.23", UserAgent: "Grandstream GXP2140 1.0.11.23 «ü»",
			IP: ip, SIPPort: 5060, Source: netip.AddrPortFrom(ip, 5062), Interface: "lan0", Multicast: true,
			State: appliance.StateProvisioned, FirstSeen: now, LastSeen: now.Add(time.Minute), Token: "tok", AdminPassword: "pw\"\\<>&",
			Dialog: &appliance.Dialog{CallID: "c@h", RemoteURI: "<sip:a@b>;tag=1", LocalURI: "<sip:a@b>", LocalTag: "t", RemoteTarget: "sip:h",
				RemoteAddr: netip.AddrPortFrom(ip, 5060), LocalAddr: netip.MustParseAddr("198.18.0.1"), Interface: "lan0", LocalCSeq: 7},
			LastNotify:   &appliance.NotifyOutcome{Time: now, Result: appliance.NotifyRefused, Code: 488, Detail: "Not Acceptable Here"},
			Downloads:    3,
			LastDownload: &appliance.Download{Time: now, IP: ip, UserAgent: "UA", File: "cfg.xml", SHA256: "ab"},
			NotifiedAt:   now},
		&appliance.Phone{MAC: m, State: appliance.StateAssigned, Token: "t2"},
		&appliance.Assignment{Extension: "201", Password: "p", DisplayName: "Desk", AuthID: "a", SIPServer: "pbx:5060", Codecs: []string{"G722", "PCMU"},
			Keys:     []appliance.Key{{Type: "blf", Value: "202", Label: "Bob", Account: 2}},
			Accounts: []appliance.Account{{Extension: "301", Password: "q", DisplayName: "Line 2", AuthID: "b", SIPServer: "s"}},
			PValues:  map[string]string{"P1": "x"}, Model: "GXP2160"},
		&appliance.Assignment{Extension: "202"},
		&appliance.Event{Seq: 9, Time: now, MAC: m, Kind: appliance.EventDownload, Detail: `"cfg.xml" to 198.18.1.2`},
		&appliance.Event{Seq: 10, Time: now, Kind: appliance.EventError},
	}
	for _, r := range records {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		v1 := reflect.New(reflect.TypeOf(r).Elem()).Interface()
		v2 := reflect.New(reflect.TypeOf(r).Elem()).Interface()
		if err := json.Unmarshal(b, v1); err != nil {
			t.Fatal(err)
		}
		if err := decodeRecord(b, v2); err != nil {
			t.Fatalf("decodeRecord(%s): %v", b, err)
		}
		if diff := cmp.Diff(v1, v2, cmpopts.EquateComparable(netip.Addr{}, netip.AddrPort{})); diff != "" {
			t.Errorf("%s (-encoding/json +decodeRecord):\n%s", b, diff)
		}
	}
}
