package provision

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"filippo.io/age"

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

// BackupScryptWorkFactor is the age scrypt work factor (log2 N) of an
// encrypted backup: 2^16 needs 64 MiB and well under a second on a Pi 4,
// which keeps the box responsive while it encrypts; a passphrase of the
// length EncryptBackup demands carries the rest of the strength.
const BackupScryptWorkFactor = 16

// MinBackupPassphrase is the shortest passphrase EncryptBackup takes.
const MinBackupPassphrase = 12

// ErrPassphrase is wrapped when an encrypted backup comes without its
// passphrase, or a passphrase is too short to encrypt with.
var ErrPassphrase = errors.New("backup passphrase")

// ageHeader starts every age file (age-encryption.org/v1).
const ageHeader = "age-encryption.org/v1\n"

// BackupEncrypted is Backup encrypted to passphrase with age's scrypt
// recipient (filippo.io/age): what leaves the box then holds the SIP
// passwords and tokens only in a form useless without the passphrase.
func (c *Coordinator) BackupEncrypted(w io.Writer, passphrase string) (int64, error) {
	if len(passphrase) < MinBackupPassphrase {
		return 0, fmt.Errorf("%w: at least %d characters", ErrPassphrase, MinBackupPassphrase)
	}
	r, err := age.NewScryptRecipient(passphrase)
	if err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	r.SetWorkFactor(BackupScryptWorkFactor)
	cw := &countWriter{w: w}
	enc, err := age.Encrypt(cw, r)
	if err != nil {
		return 0, fmt.Errorf("backup: encrypt: %w", err)
	}
	if _, err := c.Backup(enc); err != nil {
		return cw.n, err
	}
	if err := enc.Close(); err != nil {
		return cw.n, fmt.Errorf("backup: encrypt: %w", err)
	}
	return cw.n, nil
}

// OpenBackup returns the plain database of an uploaded backup: r itself
// for an unencrypted one, or r decrypted with passphrase for one made by
// BackupEncrypted. An encrypted backup without a passphrase is
// ErrPassphrase; a wrong passphrase or a damaged file wraps ErrBadBackup.
// encrypted says which it was.
func OpenBackup(r io.Reader, passphrase string) (plain io.Reader, encrypted bool, err error) {
	br := bufio.NewReader(r)
	head, _ := br.Peek(len(ageHeader))
	if string(head) != ageHeader {
		return br, false, nil
	}
	if passphrase == "" {
		return nil, true, fmt.Errorf("%w: this backup is encrypted; give its passphrase", ErrPassphrase)
	}
	id, err := age.NewScryptIdentity(passphrase)
	if err != nil {
		return nil, true, fmt.Errorf("%w: %v", ErrBadBackup, err)
	}
	// Refuses files whose work factor would make the box spend seconds
	// and hundreds of MiB (2^18 is 256 MiB): the box writes 2^16.
	id.SetMaxWorkFactor(BackupScryptWorkFactor + 1)
	out, err := age.Decrypt(br, id)
	if err != nil {
		return nil, true, fmt.Errorf("%w: cannot decrypt (wrong passphrase or damaged file): %v", ErrBadBackup, err)
	}
	return badOnError{out}, true, nil
}

// badOnError makes a failure to read the decrypted stream (age found it
// tampered or cut short) an ErrBadBackup, as a bad plain file is.
type badOnError struct{ r io.Reader }

func (b badOnError) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("%w: cannot decrypt (damaged or cut short): %w", ErrBadBackup, err)
	}
	return n, err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
