// Package buildroot_test checks the box's image sources without building
// them: the BR2_EXTERNAL tree here and the rootfs/ overlay beside it. The
// defconfig against a real Buildroot is scripts/check-defconfig.sh (make
// image-check BUILDROOT=…), which needs a Buildroot checkout.
package buildroot_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Every file the external tree and the overlay must have, relative to the
// repository root.
var required = []string{
	"buildroot/external.desc",
	"buildroot/Config.in",
	"buildroot/external.mk",
	"buildroot/package/pnpd/Config.in",
	"buildroot/package/pnpd/pnpd.mk",
	"buildroot/configs/pnpbox_rpi4_64_defconfig",
	"buildroot/board/pnpbox/genimage.cfg.in",
	"buildroot/board/pnpbox/post-build.sh",
	"buildroot/board/pnpbox/post-image.sh",
	"buildroot/board/pnpbox/config.txt",
	"buildroot/board/pnpbox/cmdline.txt",
	"rootfs/etc/inittab",
	"rootfs/etc/fstab",
	"rootfs/etc/init.d/rcS",
	"rootfs/etc/init.d/rcK",
	"rootfs/etc/init.d/S05data",
	"rootfs/etc/init.d/S10system",
	"rootfs/etc/default/pnpd",
	"rootfs/usr/libexec/pnpbox/pnpd-run",
}

func root(t *testing.T) string {
	t.Helper()
	r, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func read(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRequiredFiles(t *testing.T) {
	for _, f := range required {
		if _, err := os.Stat(filepath.Join(root(t), f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}
}

// shellScripts are the files that start with #!…sh: the ones init,
// Buildroot or make run.
func shellScripts(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, dir := range []string{"buildroot", "rootfs", "scripts"} {
		err := filepath.WalkDir(filepath.Join(root(t), dir), func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			first, _ := bufio.NewReader(f).ReadString('\n')
			if strings.HasPrefix(first, "#!") && strings.Contains(first, "sh") {
				out = append(out, p)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestShellScriptsParse(t *testing.T) {
	scripts := shellScripts(t)
	if len(scripts) < 10 {
		t.Fatalf("found %d shell scripts; the walk is broken", len(scripts))
	}
	for _, p := range scripts {
		rel, _ := filepath.Rel(root(t), p)
		first := strings.SplitN(read(t, rel), "\n", 2)[0]
		shell := "sh"
		if strings.Contains(first, "bash") {
			shell = "bash"
		}
		if out, err := exec.Command(shell, "-n", p).CombinedOutput(); err != nil {
			t.Errorf("%s -n %s: %v\n%s", shell, rel, err, out)
		}
		// The box runs BusyBox ash: no bash in the rootfs scripts.
		if strings.HasPrefix(rel, "rootfs/") && shell != "sh" {
			t.Errorf("%s: the box has no bash; use #!/bin/sh", rel)
		}
		if st, err := os.Stat(p); err == nil && st.Mode()&0o111 == 0 {
			t.Errorf("%s is not executable", rel)
		}
	}
}

// The external tree's name, its Config.in and the package agree, and the
// defconfig selects the package and points at files that exist.
func TestExternalTree(t *testing.T) {
	if !strings.Contains(read(t, "buildroot/external.desc"), "name: PNPBOX\n") {
		t.Error("external.desc: want name: PNPBOX (the defconfig uses BR2_EXTERNAL_PNPBOX_PATH)")
	}
	if !strings.Contains(read(t, "buildroot/Config.in"), `source "$BR2_EXTERNAL_PNPBOX_PATH/package/pnpd/Config.in"`) {
		t.Error("Config.in does not source package/pnpd/Config.in")
	}
	mk := read(t, "buildroot/package/pnpd/pnpd.mk")
	for _, want := range []string{"$(eval $(golang-package))", "PNPD_GO_ENV = CGO_ENABLED=0", "PNPD_BUILD_TARGETS = cmd/pnpd",
		"-X main.version=$(PNPD_VERSION)", "CONFIG_VLAN_8021Q", "CONFIG_GPIO_CDEV", "CONFIG_BCM2835_WDT"} {
		if !strings.Contains(mk, want) {
			t.Errorf("pnpd.mk lacks %q", want)
		}
	}
	gomod := read(t, "go.mod")
	if m := regexp.MustCompile(`(?m)^module (\S+)`).FindStringSubmatch(gomod); m == nil || !strings.Contains(mk, "PNPD_GOMOD = "+m[1]) {
		t.Errorf("pnpd.mk's PNPD_GOMOD is not go.mod's module path")
	}
	// Buildroot's host-go builds with GOTOOLCHAIN=local: go.mod must not
	// ask for a newer Go than a Buildroot release ships.
	if strings.Contains(gomod, "\ntoolchain ") {
		t.Error("go.mod has a toolchain line; Buildroot's Go would refuse it")
	}

	dc := read(t, "buildroot/configs/pnpbox_rpi4_64_defconfig")
	for _, want := range []string{"BR2_PACKAGE_PNPD=y", "BR2_SYSTEM_DHCP=\"\"", "# BR2_TARGET_GENERIC_REMOUNT_ROOTFS_RW is not set",
		"BR2_LINUX_KERNEL_DEFCONFIG=\"bcm2711\"", "BR2_PACKAGE_E2FSPROGS=y", "BR2_PACKAGE_UTIL_LINUX_BINARIES=y"} {
		if !strings.Contains(dc, want+"\n") {
			t.Errorf("defconfig lacks %s", want)
		}
	}
	ext := regexp.MustCompile(`\$\(BR2_EXTERNAL_PNPBOX_PATH\)/([^" ]+)`)
	for _, m := range ext.FindAllStringSubmatch(dc, -1) {
		if _, err := os.Stat(filepath.Join(root(t), "buildroot", m[1])); err != nil {
			t.Errorf("defconfig names %s, which does not exist", m[0])
		}
	}
	if !strings.Contains(read(t, "buildroot/board/pnpbox/cmdline.txt"), " ro ") {
		t.Error("cmdline.txt: the root filesystem must be mounted read-only")
	}
	if !strings.Contains(read(t, "buildroot/board/pnpbox/config.txt"), "dtparam=watchdog=on") {
		t.Error("config.txt: the SoC watchdog is not enabled")
	}
}

// init supervises pnpd with the flags the box runs it with, /data is
// checked before it is mounted, and nothing writes to the root.
func TestOverlay(t *testing.T) {
	inittab := read(t, "rootfs/etc/inittab")
	if !regexp.MustCompile(`(?m)^::respawn:/usr/libexec/pnpbox/pnpd-run$`).MatchString(inittab) {
		t.Error("inittab does not respawn pnpd-run")
	}
	if strings.Contains(inittab, "remount,rw") {
		t.Error("inittab remounts the root read-write")
	}
	for _, m := range regexp.MustCompile(`(?m)^[^#][^:]*:[^:]*:[a-z]+:(/\S+)`).FindAllStringSubmatch(inittab, -1) {
		p := m[1]
		if strings.HasPrefix(p, "/etc/") || strings.HasPrefix(p, "/usr/libexec/") {
			if _, err := os.Stat(filepath.Join(root(t), "rootfs", p)); err != nil {
				t.Errorf("inittab runs %s, which the overlay lacks", p)
			}
		}
	}
	run := read(t, "rootfs/usr/libexec/pnpbox/pnpd-run") + read(t, "rootfs/etc/default/pnpd")
	const args = `PNPD_ARGS="-net dhcp -data /data/pnpd -http :80 -watchdog -set-clock -resolv-conf /etc/resolv.conf"`
	if !strings.Contains(run, args) {
		t.Errorf("pnpd is not started with %s", args)
	}
	data := read(t, "rootfs/etc/init.d/S05data")
	fsck, mount := strings.Index(data, "e2fsck -p"), strings.Index(data, "mount -t ext4")
	if fsck < 0 || mount < 0 || fsck > mount {
		t.Error("S05data must run e2fsck before it mounts /data")
	}
	fstab := read(t, "rootfs/etc/fstab")
	for _, mnt := range []string{"/tmp", "/run"} {
		if !regexp.MustCompile(`(?m)^tmpfs\s+` + mnt + `\s+tmpfs`).MatchString(fstab) {
			t.Errorf("fstab: %s is not a tmpfs", mnt)
		}
	}
}
