// Package store persists the box's state in one bbolt file: phones,
// assignments (which may exist before their phone is seen), events, site
// settings, the admin credential, the extension pool's ledger, alerts and
// the schema version; and it keeps that file alive: snapshots, backups,
// restores, migrations and recovery from a damaged file.
//
// Every change is one bbolt read-write transaction, which fsyncs before
// Commit returns: when Apply returns nil the change survives a power cut.
// Callers group what must move together (an assignment and the phone's new
// state) into one Write, and coalesce bursts (discovery refreshes) before
// calling Apply, so a flood never becomes one commit per packet.
//
// Where things are: opening and the lock (store.go, lock.go), reading
// (load.go, events.go; the records' direct reader in recorddecode.go over
// fastjson.go) and writing (write.go) the records, checking a file
// before bbolt trusts it (verify.go, over the raw page walk in
// pagewalk.go), replacing a damaged file (recover.go), schema upgrades
// (migrate.go), snapshot files (snapshot.go), backup and restore
// (restore.go), the admin password hash (credential.go) and crash-safe
// file replacement (atomicwrite.go).
package store
