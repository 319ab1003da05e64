package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/pnpbox/pnpbox/appliance"
	bolt "go.etcd.io/bbolt"
)

// PoolGrant records one extension the pool handed out: to which phone and
// when. The ledger keeps it after the assignment is removed, because the
// phone still holds that account until it is configured again.
type PoolGrant struct {
	MAC  appliance.MAC `json:"mac"`
	Time time.Time     `json:"time"`
}

// Contents is the whole state, as loaded at start (everything but the
// events).
type Contents struct {
	Schema      int
	Phones      map[appliance.MAC]appliance.Phone
	Assignments map[appliance.MAC]appliance.Assignment
	Settings    appliance.Settings
	Admin       *Credential
	PoolIssued  map[string]PoolGrant // extension → grant
	Alerts      []appliance.Alert
	LastEvent   uint64
}

// Load reads everything but the events.
func (s *Store) Load() (Contents, error) {
	var all Contents
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		all, err = load(tx)
		return err
	})
	if err != nil {
		return Contents{}, fmt.Errorf("load %s: %w", s.path, err)
	}
	return all, nil
}

// load decodes every record but the events. A record that does not decode
// is corruption: bbolt has no checksums on pages, so a flipped bit shows up
// here or nowhere.
func load(tx *bolt.Tx) (Contents, error) {
	all := Contents{
		Phones:      map[appliance.MAC]appliance.Phone{},
		Assignments: map[appliance.MAC]appliance.Assignment{},
		Settings:    appliance.DefaultSettings(),
		PoolIssued:  map[string]PoolGrant{},
	}
	var err error
	if all.Schema, err = schemaOf(tx); err != nil {
		return all, err
	}
	for _, b := range [][]byte{bucketPhones, bucketAssignments, bucketEvents, bucketSettings} {
		if tx.Bucket(b) == nil {
			return all, corruptf("bucket %s missing", b)
		}
	}
	if err := tx.Bucket(bucketPhones).ForEach(func(k, v []byte) error {
		var p appliance.Phone
		if err := json.Unmarshal(v, &p); err != nil {
			return corruptf("phone %q: %v", k, err)
		}
		if p.MAC.String() != string(k) {
			return corruptf("phone %q holds the record of %s", k, p.MAC)
		}
		all.Phones[p.MAC] = p
		return nil
	}); err != nil {
		return all, err
	}
	if err := tx.Bucket(bucketAssignments).ForEach(func(k, v []byte) error {
		mac, err := appliance.ParseMAC(string(k))
		if err != nil {
			return corruptf("assignment key %q: %v", k, err)
		}
		var a appliance.Assignment
		if err := json.Unmarshal(v, &a); err != nil {
			return corruptf("assignment %s: %v", k, err)
		}
		all.Assignments[mac] = a
		return nil
	}); err != nil {
		return all, err
	}
	set := tx.Bucket(bucketSettings)
	if v := set.Get(keySite); v != nil {
		if err := json.Unmarshal(v, &all.Settings); err != nil {
			return all, corruptf("settings: %v", err)
		}
	}
	if v := set.Get(keyAdmin); v != nil {
		all.Admin = &Credential{}
		if err := json.Unmarshal(v, all.Admin); err != nil {
			return all, corruptf("admin credential: %v", err)
		}
	}
	if pool := tx.Bucket(bucketPool); pool != nil {
		if err := pool.ForEach(func(k, v []byte) error {
			var g PoolGrant
			if err := json.Unmarshal(v, &g); err != nil {
				return corruptf("pool grant %q: %v", k, err)
			}
			all.PoolIssued[string(k)] = g
			return nil
		}); err != nil {
			return all, err
		}
	}
	if v := tx.Bucket(bucketMeta).Get(keyAlerts); v != nil {
		if err := json.Unmarshal(v, &all.Alerts); err != nil {
			return all, corruptf("alerts: %v", err)
		}
	}
	if k, _ := tx.Bucket(bucketEvents).Cursor().Last(); k != nil {
		if len(k) != 8 {
			return all, corruptf("event key %x", k)
		}
		all.LastEvent = binary.BigEndian.Uint64(k)
	}
	return all, nil
}

// checkEvents decodes every event (part of verifying a file).
func checkEvents(tx *bolt.Tx) error {
	return tx.Bucket(bucketEvents).ForEach(func(k, v []byte) error {
		var e appliance.Event
		if len(k) != 8 {
			return corruptf("event key %x", k)
		}
		if err := json.Unmarshal(v, &e); err != nil {
			return corruptf("event %d: %v", binary.BigEndian.Uint64(k), err)
		}
		return nil
	})
}

func schemaOf(tx *bolt.Tx) (int, error) {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return 0, corruptf("bucket meta missing")
	}
	v := meta.Get(keySchema)
	if v == nil {
		return 0, corruptf("no schema version")
	}
	n, err := strconv.Atoi(string(v))
	if err != nil || n < 1 {
		return 0, corruptf("schema version %q", v)
	}
	return n, nil
}
