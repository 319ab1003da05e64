//go:build linux

package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/appliance/store"
)

// needRoot skips a test that needs root, except in CI (which runs as
// root), where a skip would hide that the test never ran.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("this test needs root, and CI must run it")
		}
		t.Skip("needs root (to mount a small tmpfs)")
	}
}

// smallDisk mounts a tmpfs of size bytes at a new temp dir, unmounted at
// the end of the test (after the daemon using it has stopped, since
// cleanups run last-registered first).
func smallDisk(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0700", size)); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("mount tmpfs: %v", err)
		}
		t.Skipf("cannot mount a tmpfs here: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// fillDisk writes a file until the filesystem is full and returns its
// path.
func fillDisk(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := bytes.Repeat([]byte{0xAA}, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill: %v", err)
			}
			return path
		}
	}
}

// TestDiskFull runs pnpd on a 4 MB tmpfs and fills it: writes are
// refused with 507 and a message that says what to do, nothing
// half-written remains, SUBSCRIBEs are still answered, the LED shows
// error, and once space is freed everything works again and the database
// holds exactly what was acknowledged.
func TestDiskFull(t *testing.T) {
	needRoot(t)
	dir := smallDisk(t, 4<<20)
	d := startDaemon(t, "-data", dir)
	d.data = dir
	put := func(n int) (int, map[string]any) {
		var e map[string]any
		code := d.api(t, "PUT", fmt.Sprintf("/api/phones/02000000%04X/assignment", n),
			fmt.Sprintf(`{"extension":"%d","password":"pw-%d-secret","display_name":"%s"}`, 1000+n, n, strings.Repeat("x", 60)), &e)
		return code, e
	}
	acked := map[int]bool{}
	for n := range 10 {
		if code, e := put(n); code != 200 {
			t.Fatalf("before the disk is full: %d %v", code, e)
		}
		acked[n] = true
	}
	filler := fillDisk(t, dir)

	// bbolt reuses freed pages, so a few writes may still fit; the pages
	// a growing database needs do not.
	full := -1
	for n := 10; n < 2000; n++ {
		code, e := put(n)
		if code == 507 {
			if msg, _ := e["error"].(string); !strings.Contains(msg, "storage is full") || !strings.Contains(msg, "nothing was changed") {
				t.Errorf("507 message: %q", e["error"])
			}
			full = n
			break
		}
		if code != 200 {
			t.Fatalf("write %d on a full disk: %d %v, want 200 or 507", n, code, e)
		}
		acked[n] = true
	}
	if full < 0 {
		t.Fatal("no write was refused on a full disk")
	}
	t.Logf("disk full after %d writes; write %d refused with 507", len(acked), full)
	var csv strings.Builder
	csv.WriteString("mac,extension,password\n")
	for i := range 500 {
		fmt.Fprintf(&csv, "06000000%04X,%d,pw-%d-secret\n", i, 5000+i, i)
	}
	code, body := d.do(t, "POST", "/api/assignments/import", "text/csv", strings.NewReader(csv.String()))
	if code != 507 {
		t.Errorf("import on a full disk: %d %s", code, body)
	}

	// The SIP side does not depend on the disk.
	ph := newPhone(t, "127.0.4.1", "000B82444444")
	ph.subscribe(t, d.sipPort)
	if !ph.answered() {
		t.Error("SUBSCRIBE not answered while the disk is full")
	}
	waitFor(t, "the failed flush to show", func() bool {
		s := d.status(t)
		return s.Store.Error != "" && s.LED == "error"
	})

	// Free the space: writes work again, and the discovery kept in memory
	// is written.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if code, e := put(full); code != 200 {
		t.Fatalf("after freeing space: %d %v", code, e)
	}
	acked[full] = true
	waitFor(t, "storage healthy again", func() bool { s := d.status(t); return s.Store.Error == "" && s.LED != "error" })
	waitFor(t, "an event about the outage", func() bool {
		_, body := d.do(t, "GET", "/api/events?limit=20", "", nil)
		return bytes.Contains(body, []byte("storage could not be written from"))
	})
	var phones []map[string]any
	d.api(t, "GET", "/api/phones", "", &phones)
	if !strings.Contains(fmt.Sprint(phones), "000B82444444") {
		t.Error("the phone discovered while the disk was full is not listed")
	}
	d.stop(t)

	err := checkDatabase(dir, func() map[appliance.MAC]string {
		out := map[appliance.MAC]string{}
		for n := range acked {
			m, _ := appliance.ParseMAC(fmt.Sprintf("02000000%04X", n))
			out[m] = fmt.Sprint(1000 + n)
		}
		return out
	}())
	if err != nil {
		t.Fatal(err)
	}
	// Nothing of the refused import is there.
	s, err := store.Open(filepath.Join(dir, "phones.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	snap, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := snap.Phones[appliance.MAC{0x00, 0x0b, 0x82, 0x44, 0x44, 0x44}]; !ok {
		t.Error("the phone discovered while the disk was full was not written once it had space")
	}
	if len(snap.Assignments) != len(acked) {
		t.Errorf("%d assignments stored, %d acknowledged: a refused write left something behind", len(snap.Assignments), len(acked))
	}
}
