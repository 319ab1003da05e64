package store

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// syncDir fsyncs a directory, so that a rename in it survives a power cut.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// writeFileAtomic writes what fill writes to a temporary file in dst's
// directory (named with tmpPrefix, so a crash leftover is found and
// removed at the next open), fsyncs it, renames it to dst and fsyncs the
// directory: dst is then either the old file or the complete new one,
// whenever the power goes.
func writeFileAtomic(dst, tmpPrefix string, fill func(io.Writer) error) (err error) {
	dir := filepath.Dir(dst)
	f, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := fill(f); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), dst); err != nil {
		return err
	}
	return syncDir(dir)
}

// copyFileAtomic copies src to dst with writeFileAtomic.
func copyFileAtomic(src, dst, tmpPrefix string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return writeFileAtomic(dst, tmpPrefix, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	})
}

// removeTemps deletes leftovers of interrupted atomic writes: files in dir
// whose names start with prefix.
func removeTemps(dir, prefix string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) && e.Type().IsRegular() {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}
