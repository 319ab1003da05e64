package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/pnpbox/pnpbox/appliance"
	bolt "go.etcd.io/bbolt"
)

// Write is one atomic change. Empty fields change nothing.
type Write struct {
	Phones            []appliance.Phone
	DeletePhones      []appliance.MAC
	Assignments       map[appliance.MAC]appliance.Assignment
	DeleteAssignments []appliance.MAC
	Events            []appliance.Event // Seq must be set by the caller, increasing
	Settings          *appliance.Settings
	Admin             *Credential
	PoolIssued        map[string]PoolGrant // added to the ledger
	Alerts            *[]appliance.Alert   // replaces the alerts (empty: none)
}

// Empty reports whether w changes nothing.
func (w *Write) Empty() bool {
	return len(w.Phones) == 0 && len(w.DeletePhones) == 0 && len(w.Assignments) == 0 &&
		len(w.DeleteAssignments) == 0 && len(w.Events) == 0 && w.Settings == nil && w.Admin == nil &&
		len(w.PoolIssued) == 0 && w.Alerts == nil
}

// Apply commits w in one transaction; when it returns nil the change is on
// disk. On error nothing of w is applied.
func (s *Store) Apply(w Write) error {
	if w.Empty() {
		return nil
	}
	if err := s.update(func(tx *bolt.Tx) error { return apply(tx, w) }); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func apply(tx *bolt.Tx, w Write) error {
	phones := tx.Bucket(bucketPhones)
	for _, p := range w.Phones {
		if err := putJSON(phones, []byte(p.MAC.String()), p); err != nil {
			return fmt.Errorf("put phone %s: %w", p.MAC, err)
		}
	}
	for _, m := range w.DeletePhones {
		if err := phones.Delete([]byte(m.String())); err != nil {
			return fmt.Errorf("delete phone %s: %w", m, err)
		}
	}
	as := tx.Bucket(bucketAssignments)
	for m, a := range w.Assignments {
		if err := putJSON(as, []byte(m.String()), a); err != nil {
			return fmt.Errorf("put assignment %s: %w", m, err)
		}
	}
	for _, m := range w.DeleteAssignments {
		if err := as.Delete([]byte(m.String())); err != nil {
			return fmt.Errorf("delete assignment %s: %w", m, err)
		}
	}
	if err := putEvents(tx.Bucket(bucketEvents), w.Events); err != nil {
		return err
	}
	set := tx.Bucket(bucketSettings)
	if w.Settings != nil {
		if err := putJSON(set, keySite, w.Settings); err != nil {
			return fmt.Errorf("put settings: %w", err)
		}
	}
	if w.Admin != nil {
		if err := putJSON(set, keyAdmin, w.Admin); err != nil {
			return fmt.Errorf("put admin credential: %w", err)
		}
	}
	pool := tx.Bucket(bucketPool)
	for ext, g := range w.PoolIssued {
		if err := putJSON(pool, []byte(ext), g); err != nil {
			return fmt.Errorf("put pool grant %s: %w", ext, err)
		}
	}
	if w.Alerts != nil {
		if err := putJSON(tx.Bucket(bucketMeta), keyAlerts, *w.Alerts); err != nil {
			return fmt.Errorf("put alerts: %w", err)
		}
	}
	return nil
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	buf, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, buf)
}

func seqKey(n uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], n)
	return k[:]
}

// putEvents appends events and trims the log to MaxEvents, in the same
// transaction, so the file never grows without bound.
func putEvents(b *bolt.Bucket, evs []appliance.Event) error {
	if len(evs) == 0 {
		return nil
	}
	for _, e := range evs {
		if err := putJSON(b, seqKey(e.Seq), e); err != nil {
			return fmt.Errorf("put event %d: %w", e.Seq, err)
		}
	}
	// Trim to MaxEvents: collect the keys first, then delete. Deleting at
	// the cursor and seeking First again walks every leaf already emptied
	// in this transaction: quadratic in the events dropped per commit,
	// most of a commit's time under a stream of downloads.
	last := evs[len(evs)-1].Seq
	var old []uint64
	c := b.Cursor()
	for k, _ := c.First(); k != nil && last-binary.BigEndian.Uint64(k) >= MaxEvents; k, _ = c.Next() {
		old = append(old, binary.BigEndian.Uint64(k))
	}
	for _, seq := range old {
		if err := b.Delete(seqKey(seq)); err != nil {
			return fmt.Errorf("trim events: %w", err)
		}
	}
	return nil
}
