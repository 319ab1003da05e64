#!/usr/bin/env bash
# make image BUILDROOT=<Buildroot checkout> [O=<output dir>]
#
# Builds the box's SD-card image with Buildroot and the external tree in
# buildroot/. pnpd's source is staged first into $O/pnpd-src: the files
# git tracks (with their working-tree changes), vendor/ from
# `go mod vendor`, and VERSION from `git describe`. Buildroot's golang
# infrastructure builds with -mod=vendor and GOPROXY=off, so after this
# step the only network the build needs is Buildroot's own downloads
# (toolchain, kernel, firmware; a shared BR2_DL_DIR keeps them).
#
# Result: $O/images/sdcard.img. Flashing and first boot: docs/box.md.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
# Called from make: our make's flags (O=, BUILDROOT=) must not leak into Buildroot's.
unset MAKEFLAGS MFLAGS MAKELEVEL

: "${BUILDROOT:?set BUILDROOT to a Buildroot checkout (git clone https://gitlab.com/buildroot.org/buildroot)}"
BUILDROOT=$(cd "$BUILDROOT" && pwd)
O=${O:-$repo/out/buildroot}
mkdir -p "$O"
O=$(cd "$O" && pwd)
test -f "$BUILDROOT/Makefile" && test -d "$BUILDROOT/package/go" || {
	echo "image: $BUILDROOT is not a Buildroot checkout with Go support"; exit 1; }

echo "== staging pnpd's source with vendored modules in $O/pnpd-src"
src=$O/pnpd-src
rm -rf "$src.new"
mkdir -p "$src.new"
git ls-files -z --cached --others --exclude-standard -- . ':!buildroot' ':!rootfs' ':!docs' |
	while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
	cpio -0 -pdm --quiet "$src.new"
(cd "$src.new" && go mod vendor)
git describe --tags --always --dirty 2>/dev/null >"$src.new/VERSION" || echo dev >"$src.new/VERSION"
rm -rf "$src"
mv "$src.new" "$src"
echo "pnpd $(cat "$src/VERSION")"

echo "== Buildroot: pnpbox_rpi4_64_defconfig in $O"
br=(make -C "$BUILDROOT" O="$O" BR2_EXTERNAL="$repo/buildroot")
[ -f "$O/.config" ] || "${br[@]}" pnpbox_rpi4_64_defconfig
# The staged source changes under a local site: rebuild pnpd every time.
"${br[@]}" pnpd-dirclean
"${br[@]}"
ls -l "$O/images/sdcard.img"
