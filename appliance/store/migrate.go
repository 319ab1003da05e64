package store

import (
	"fmt"
	"strconv"

	bolt "go.etcd.io/bbolt"
)

// SchemaVersion is the layout this code reads and writes.
//
//	1  meta, phones, assignments, events, settings
//	2  + pool (the extension pool's ledger), meta/alerts
const SchemaVersion = 2

// migration moves a database from schema to-1 to schema to. Each runs in
// the one transaction that also records the new version, so a database is
// always wholly at one version.
type migration struct {
	to    int
	what  string
	apply func(tx *bolt.Tx) error
}

var migrations = []migration{
	{to: 2, what: "add the extension pool's ledger", apply: func(tx *bolt.Tx) error {
		// Schema 1 had an extension_pool setting but handed nothing out,
		// so the ledger starts empty. meta/alerts needs no step: absent
		// means none.
		_, err := tx.CreateBucketIfNotExists(bucketPool)
		return err
	}},
}

// buckets are the buckets of the current schema.
var buckets = [][]byte{bucketMeta, bucketPhones, bucketAssignments, bucketEvents, bucketSettings, bucketPool}

// migrate brings the open database to SchemaVersion: a new file gets the
// current layout; an older one is snapshotted (the snapshot is what a
// downgrade or a bug in a migration falls back to) and migrated in one
// transaction. Without a snapshot there is no migration.
func (s *Store) migrate() error {
	var version int
	err := s.view(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMeta) == nil || tx.Bucket(bucketMeta).Get(keySchema) == nil {
			return nil // new
		}
		var err error
		version, err = schemaOf(tx)
		return err
	})
	if err != nil {
		return err
	}
	switch {
	case version > SchemaVersion:
		return fmt.Errorf("%w: database schema %d is newer than this firmware supports (%d)", ErrTooNew, version, SchemaVersion)
	case version == SchemaVersion:
		return nil
	case version > 0:
		name, err := s.Snapshot(fmt.Sprintf("%s-v%d", KindPreMigrate, version))
		if err != nil {
			return fmt.Errorf("snapshot before migrating from schema %d: %w", version, err)
		}
		s.opts.Log.Info("migrating database", "from", version, "to", SchemaVersion, "snapshot", name)
	}
	return s.update(func(tx *bolt.Tx) error {
		if version > 0 {
			for _, m := range migrations {
				if m.to <= version {
					continue
				}
				if err := m.apply(tx); err != nil {
					return fmt.Errorf("migrate to schema %d (%s): %w", m.to, m.what, err)
				}
			}
		}
		for _, b := range buckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(keySchema, []byte(strconv.Itoa(SchemaVersion)))
	})
}
