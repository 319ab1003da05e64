package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/pnpbox/pnpbox/appliance"
	bolt "go.etcd.io/bbolt"
)

// EventFilter selects events: after Since (a Seq) and at or after After
// (a time) when set, for MAC if set, at most Limit (newest kept when
// limited).
type EventFilter struct {
	Since uint64
	After time.Time
	MAC   *appliance.MAC
	Limit int
}

// Events returns matching events in ascending Seq order.
func (s *Store) Events(f EventFilter) ([]appliance.Event, error) {
	var out []appliance.Event
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketEvents).Cursor()
		for k, v := c.Seek(seqKey(f.Since + 1)); k != nil; k, v = c.Next() {
			var e appliance.Event
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("event %d: %w", binary.BigEndian.Uint64(k), err)
			}
			if f.MAC != nil && e.MAC != *f.MAC || !f.After.IsZero() && e.Time.Before(f.After) {
				continue
			}
			out = append(out, e)
		}
		return nil
	})
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[len(out)-f.Limit:]
	}
	return out, err
}
