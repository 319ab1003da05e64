package store

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"flag"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/pnpbox/pnpbox/appliance"
	bolt "go.etcd.io/bbolt"
)

var writeSchema1 = flag.Bool("write-schema1", false, "regenerate testdata/schema1.db (the layout of schema version 1)")

// schema1Fixture is testdata/schema1.db: a database as the first schema
// wrote it. It is written with raw bbolt calls and literal JSON, not with
// the Store, so that it stays a schema-1 file however the Store changes;
// the file is committed, and TestOpenSchema1 checks that every later
// firmware opens (and migrates) it without losing anything.
var schema1Fixture = struct {
	phones      map[string]string
	assignments map[string]string
	events      []string
	site        string
}{
	phones: map[string]string{
		"000B82000001": `{"mac":"000B82000001","vendor":"Grandstream","model":"GXP2140","firmware":"1.0.11.3","user_agent":"Grandstream GXP2140 1.0.11.3","ip":"198.18.0.101","sip_port":5060,"source":"198.18.0.101:5060","interface":"eth0","multicast":true,"state":"provisioned","first_seen":"2026-11-28T09:00:00Z","last_seen":"2026-11-28T09:05:00Z","token":"0123456789abcdef0123456789abcdef","admin_password":"Fixture2Admin3Pw4xyz","dialog":{"call_id":"1391437540-5060-1@BJC.BGI.IG.HH","from":"<sip:MAC%3A000B82000001@224.0.1.75>;tag=1532761203","to":"<sip:MAC%3A000B82000001@224.0.1.75>","local_tag":"a1b2c3","contact":"sip:198.18.0.101:5060","target":"198.18.0.101:5060","local_addr":"198.18.0.1","interface":"eth0","notify_cseq":1},"notify":{"time":"2026-11-28T09:01:00Z","result":"ok","code":200},"downloads":2,"last_download":{"time":"2026-11-28T09:03:00Z","ip":"198.18.0.101","user_agent":"Grandstream Model HW GXP2140 SW 1.0.11.3 DevId 000b82000001","file":"cfg000b82000001.xml","sha256":"5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"},"notified_at":"2026-11-28T09:01:00Z"}`,
		"000B82000002": `{"mac":"000B82000002","vendor":"Grandstream","model":"GXP2160","firmware":"1.0.11.3","ip":"198.18.0.102","sip_port":5060,"source":"198.18.0.102:5060","interface":"eth0","multicast":true,"state":"discovered","first_seen":"2026-11-28T09:00:30Z","last_seen":"2026-11-28T09:00:30Z","token":"fedcba9876543210fedcba9876543210","admin_password":"Fixture5Admin6Pw7xyz","dialog":{"call_id":"c2@198.18.0.102","from":"<sip:MAC%3A000B82000002@224.0.1.75>;tag=77","to":"<sip:MAC%3A000B82000002@224.0.1.75>","local_tag":"d4e5f6","contact":"sip:198.18.0.102:5060","target":"198.18.0.102:5060","local_addr":"198.18.0.1","notify_cseq":0},"downloads":0}`,
		"000B82000003": `{"mac":"000B82000003","state":"assigned","token":"00112233445566778899aabbccddeeff","admin_password":"Fixture8Admin9Pwxyzw","downloads":0}`,
	},
	assignments: map[string]string{
		"000B82000001": `{"extension":"201","password":"pw-201-fixture","display_name":"Reception","sip_server":"pbx.example.net","codecs":["PCMU","G722"],"keys":[{"type":"blf","value":"202","label":"Sales"},{"type":"speed_dial","value":"+15551234","label":"Office: main|line"}]}`,
		"000B82000003": `{"extension":"203","password":"pw-203-fixture","display_name":"Lager Süd","model":"GXP2160","accounts":[{"extension":"213","password":"pw-213-fixture"}],"p_values":{"P8345":"1"}}`,
	},
	events: []string{
		`{"seq":1,"time":"2026-11-28T08:59:00Z","kind":"settings","detail":"admin password set"}`,
		`{"seq":2,"time":"2026-11-28T09:00:00Z","mac":"000B82000001","kind":"discovered","detail":"Grandstream GXP2140 1.0.11.3 from 198.18.0.101"}`,
		`{"seq":3,"time":"2026-11-28T09:00:10Z","mac":"000B82000001","kind":"assigned","detail":"extension 201"}`,
		`{"seq":4,"time":"2026-11-28T09:01:00Z","mac":"000B82000001","kind":"notify","detail":"answered 200"}`,
		`{"seq":5,"time":"2026-11-28T09:03:00Z","mac":"000B82000001","kind":"download","detail":"\"cfg000b82000001.xml\" to 198.18.0.101"}`,
	},
	site: `{"sip_server":"pbx.example.net","outbound_proxy":"","provision_mode":"button","codecs":["PCMU","PCMA"],"timezone":"Europe/Berlin","ntp_server":"pool.ntp.org","extension_pool":"200-299","notify_url_form":"file","phone_admin_password":"","config_server_path":"","config_protocol":"","firmware_server_path":"","firmware_protocol":"","auto_provision":{"mode":""},"voicemail_number":"*97","language":"de","model_defaults":null,"p_values":null,"legacy_binary":false}`,
}

// schema1AdminPassword is the admin password stored in the fixture.
const schema1AdminPassword = "fixture-admin-pw"

func TestWriteSchema1Fixture(t *testing.T) {
	if !*writeSchema1 {
		t.Skip("run with -write-schema1 to regenerate testdata/schema1.db")
	}
	path := filepath.Join("testdata", "schema1.db")
	os.Remove(path)
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	salt := []byte("fixture-salt-16b")
	hash, err := pbkdf2.Key(sha256.New, schema1AdminPassword, salt, 1000, 32)
	if err != nil {
		t.Fatal(err)
	}
	admin, _ := json.Marshal(Credential{Salt: salt, Iterations: 1000, Hash: hash})
	err = db.Update(func(tx *bolt.Tx) error {
		bk := map[string]*bolt.Bucket{}
		for _, name := range []string{"meta", "phones", "assignments", "events", "settings"} {
			b, err := tx.CreateBucket([]byte(name))
			if err != nil {
				return err
			}
			bk[name] = b
		}
		put := func(b, k, v string) {
			if err == nil {
				err = bk[b].Put([]byte(k), []byte(v))
			}
		}
		put("meta", "schema_version", "1")
		for k, v := range schema1Fixture.phones {
			put("phones", k, v)
		}
		for k, v := range schema1Fixture.assignments {
			put("assignments", k, v)
		}
		for i, v := range schema1Fixture.events {
			var key [8]byte
			binary.BigEndian.PutUint64(key[:], uint64(i+1))
			put("events", string(key[:]), v)
		}
		put("settings", "site", schema1Fixture.site)
		put("settings", "admin", string(admin))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// copyFixture copies a testdata database into a temp dir (opening it
// migrates it, and the committed file must stay as it is).
func copyFixture(t *testing.T, name string) string {
	t.Helper()
	src, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	path := filepath.Join(t.TempDir(), "phones.db")
	dst, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestOpenSchema1 opens the committed schema-1 database: everything it
// held must load unchanged.
func TestOpenSchema1(t *testing.T) {
	path := copyFixture(t, "schema1.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	snap, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	wantPhones := map[appliance.MAC]appliance.Phone{}
	for _, v := range schema1Fixture.phones {
		var p appliance.Phone
		if err := json.Unmarshal([]byte(v), &p); err != nil {
			t.Fatal(err)
		}
		wantPhones[p.MAC] = p
	}
	wantAssignments := map[appliance.MAC]appliance.Assignment{}
	for k, v := range schema1Fixture.assignments {
		var a appliance.Assignment
		if err := json.Unmarshal([]byte(v), &a); err != nil {
			t.Fatal(err)
		}
		wantAssignments[mac(t, k)] = a
	}
	eq := cmpopts.EquateComparable(netip.Addr{}, netip.AddrPort{})
	if diff := cmp.Diff(wantPhones, snap.Phones, eq); diff != "" {
		t.Errorf("phones (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantAssignments, snap.Assignments); diff != "" {
		t.Errorf("assignments (-want +got):\n%s", diff)
	}
	if snap.Settings.ExtensionPool != "200-299" || snap.Settings.SIPServer != "pbx.example.net" || snap.Settings.Language != "de" {
		t.Errorf("settings: %+v", snap.Settings)
	}
	if !snap.Admin.Verify(schema1AdminPassword) {
		t.Error("admin password does not verify")
	}
	if snap.LastEvent != 5 {
		t.Errorf("last event %d, want 5", snap.LastEvent)
	}
	evs, err := s.Events(EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 5 || !evs[4].Time.Equal(time.Date(2026, 11, 28, 9, 3, 0, 0, time.UTC)) || evs[4].Kind != appliance.EventDownload {
		t.Errorf("events: %+v", evs)
	}
}
