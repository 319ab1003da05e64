#!/usr/bin/env bash
# make qemu-test: the box's rootfs/ overlay booted in an arm64 VM.
#
# Debian's arm64 kernel boots under qemu-system-aarch64 -M virt (TCG) with
# an initramfs of Debian's busybox-static, the static pnpd
# (bin/pnpd-linux-arm64) and rootfs/ — the same inittab, init scripts,
# flags and /data layout as the SD-card image; only /init differs: it
# loads the virtio and 802.1Q modules (built into the Pi's kernel) and
# hands over to BusyBox init. The VM's NIC is plugged into a network
# namespace: untagged frames to a tap on the LAN's bridge, frames of voice
# VLAN 20 (tagged by a small switch in the test, as this machine's kernel
# has no 802.1Q) to a tap on the voice bridge. /data is a virtio disk.
# The checks themselves are the Go test in e2e/qemu (build tag qemu):
# DHCP, NTP, the Plug-and-Play loop by real multicast on the LAN and on
# the VLAN, mDNS, kill -9 and respawn, the watchdog.
#
# The arm64 packages come through a private apt configuration (its own
# state and cache under $PNPBOX_CACHE), so the host's dpkg architecture
# list is never changed. They are cached; a second run downloads nothing.
#
# Needs root, qemu-system-arm, dnsmasq, iproute2, cpio, e2fsprogs.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
cache=${PNPBOX_CACHE:-$HOME/.cache/pnpbox-qemu}
bin=$repo/bin/pnpd-linux-arm64
mods=(virtio_pci virtio_net virtio_blk ext4 crc32c_generic 8021q i6300esb)

need() {
	for p in "$@"; do
		command -v "$p" >/dev/null || { echo "qemu-test: $p is not installed"; exit 1; }
	done
}
[ "$(id -u)" = 0 ] || { echo "qemu-test: needs root (network namespaces, tap)"; exit 1; }
need qemu-system-aarch64 dnsmasq ip cpio gzip mkfs.ext4 dpkg-deb apt-get go
test -x "$bin" || { echo "qemu-test: $bin missing (make build-arm64)"; exit 1; }

# --- arm64 packages, through a private apt configuration ---------------
apt_dir=$cache/apt
arm64_apt() { APT_CONFIG=$apt_dir/apt.conf "$@"; }
setup_apt() {
	mkdir -p "$apt_dir"/state/lists/partial "$apt_dir"/cache/archives/partial \
		"$apt_dir"/etc/apt.conf.d "$apt_dir"/etc/preferences.d "$apt_dir"/etc/sources.list.d
	touch "$apt_dir/state/status"
	# The machine's own Debian mirror and suite, arm64 only.
	local uri suite
	uri=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
	[ -n "$uri" ] || uri=$(awk '$1 == "deb" && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list)
	suite=$(. /etc/os-release && echo "$VERSION_CODENAME")
	echo "deb [arch=arm64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri $suite main" \
		>"$apt_dir/etc/sources.list"
	cat >"$apt_dir/apt.conf" <<CONF
Dir::State "$apt_dir/state"; Dir::State::status "$apt_dir/state/status";
Dir::Cache "$apt_dir/cache"; Dir::Etc::Parts "$apt_dir/etc/apt.conf.d";
Dir::Etc::SourceList "$apt_dir/etc/sources.list"; Dir::Etc::SourceParts "$apt_dir/etc/sources.list.d";
Dir::Etc::Preferences "$apt_dir/etc/preferences"; Dir::Etc::PreferencesParts "$apt_dir/etc/preferences.d";
APT::Architecture "arm64"; APT::Architectures { "arm64"; }; APT::Sandbox::User "root";
CONF
	arm64_apt apt-get update -qq
}
debs=$cache/debs
mkdir -p "$debs"
if ! ls "$debs"/linux-image-*_arm64.deb "$debs"/busybox-static_*_arm64.deb "$debs"/e2fsck-static_*_arm64.deb >/dev/null 2>&1; then
	echo "== downloading Debian's arm64 kernel, busybox-static and e2fsck-static (once)"
	setup_apt
	kpkg=$(arm64_apt apt-cache depends linux-image-arm64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
	(cd "$debs" && arm64_apt apt-get download -qq "$kpkg" busybox-static e2fsck-static)
fi

x=$cache/x
if [ ! -f "$x/.done" ] || [ "$debs" -nt "$x/.done" ]; then
	rm -rf "$x"
	mkdir -p "$x/k" "$x/bb" "$x/e2"
	dpkg-deb -x "$(ls "$debs"/linux-image-*_arm64.deb | head -1)" "$x/k"
	dpkg-deb -x "$(ls "$debs"/busybox-static_*_arm64.deb | head -1)" "$x/bb"
	dpkg-deb -x "$(ls "$debs"/e2fsck-static_*_arm64.deb | head -1)" "$x/e2"
	touch "$x/.done"
fi
kver=$(ls "$x/k/lib/modules" | head -1)
kdir=$x/k/lib/modules/$kver/kernel

# --- the initramfs ------------------------------------------------------
work=$(mktemp -d /tmp/pnpbox-qemu.XXXXXX)
trap 'rm -rf "$work"' EXIT
ir=$work/root
mkdir -p "$ir"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,run,data,root,lib/modules}
cp "$x/bb/bin/busybox" "$ir/bin/busybox"
ln -sf ../bin/busybox "$ir/sbin/init"
cp "$x/e2/sbin/e2fsck.static" "$ir/sbin/e2fsck"
cp "$bin" "$ir/usr/bin/pnpd"
# Buildroot's skeleton: /var on tmpfs, resolv.conf under /run, no root
# password on the console.
mkdir -p "$ir/var/lib"
for l in log:../tmp tmp:../tmp cache:../tmp spool:../tmp run:../run lock:../run/lock lib/misc:../../tmp; do
	ln -s "${l#*:}" "$ir/var/${l%%:*}"
done
ln -s ../run/resolv.conf "$ir/etc/resolv.conf"
ln -s ../tmp/log "$ir/dev/log"
# (Debian's busybox reads the password from passwd, not shadow.)
printf 'root::0:0:root:/root:/bin/sh\n' >"$ir/etc/passwd"
printf 'root:x:0:\n' >"$ir/etc/group"
echo pnpbox >"$ir/etc/hostname"
# The overlay, as Buildroot copies it.
cp -a rootfs/. "$ir/"

# Modules with their dependencies (from each .ko's modinfo), in load order.
order=()
add_mod() {
	local m=$1 f dep
	for o in "${order[@]}"; do [ "$o" = "$m" ] && return; done
	f=$(find "$kdir" -name "$m.ko" | head -1)
	[ -n "$f" ] || { echo "qemu-test: module $m not in $kver"; exit 1; }
	for dep in $(grep -a -o 'depends=[^[:cntrl:]]*' "$f" | head -1 | sed 's/^depends=//; s/,/ /g'); do
		add_mod "$dep"
	done
	cp "$f" "$ir/lib/modules/"
	order+=("$m")
}
for m in "${mods[@]}"; do add_mod "$m"; done

cat >"$ir/init" <<INIT
#!/bin/busybox sh
# VM only. The Pi's kernel has its drivers built in; Debian's has virtio,
# ext4 and 802.1Q as modules. Load them, then run the box's own init.
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s
umount /proc
mount -t devtmpfs dev /dev
# i6300esb: a 10 s timeout (the Pi's bcm2835-wdt has about 15 s).
for m in ${order[*]}; do
	p=; [ \$m = i6300esb ] && p=heartbeat=10
	insmod /lib/modules/\$m.ko \$p || echo "init: insmod \$m failed"
done
# The box's root is read-only; so is this one, to catch a stray write.
mount -o remount,ro / 2>/dev/null || mount -t rootfs -o remount,ro rootfs / || echo "init: root stays writable"
exec /sbin/init
INIT
chmod +x "$ir/init"
(cd "$ir" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initrd.gz"
cp "$x/k/boot/vmlinuz-$kver" "$work/vmlinuz"
echo "== initramfs $(du -h "$work/initrd.gz" | cut -f1) (kernel $kver; modules: ${order[*]})"

# --- run the checks ----------------------------------------------------
export PNPBOX_VM_KERNEL=$work/vmlinuz PNPBOX_VM_INITRD=$work/initrd.gz
# QEMU_RUN picks tests (make powercut: TestPowerCut), QEMU_TIMEOUT their limit.
go test -tags qemu -count=1 -v -timeout "${QEMU_TIMEOUT:-15m}" -run "${QEMU_RUN:-.}" ./e2e/qemu/
