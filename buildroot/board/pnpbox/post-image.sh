#!/usr/bin/env bash
# Buildroot post-image script: writes genimage.cfg from genimage.cfg.in
# (the boot partition gets the Pi firmware, the device trees and the
# kernel config.txt names) and makes sdcard.img. Buildroot sets
# BINARIES_DIR and BUILD_DIR.
set -euo pipefail
board_dir=$(cd "$(dirname "$0")" && pwd)
cfg=$BINARIES_DIR/genimage.cfg

files=()
for f in "$BINARIES_DIR"/*.dtb "$BINARIES_DIR"/rpi-firmware/*; do
	files+=("${f#"$BINARIES_DIR"/}")
done
files+=("$(sed -n 's/^kernel=//p' "$BINARIES_DIR/rpi-firmware/config.txt")")
list=$(printf '\\t\\t\\t"%s",\\n' "${files[@]}")
sed "s|#BOOT_FILES#|$list|" "$board_dir/genimage.cfg.in" >"$cfg"

# genimage copies --rootpath; ours is empty because the root filesystem
# image (rootfs.ext4) is already made and only placed into the card.
empty=$(mktemp -d)
trap 'rm -rf "$empty"' EXIT
rm -rf "$BUILD_DIR/genimage.tmp"
genimage --rootpath "$empty" --tmppath "$BUILD_DIR/genimage.tmp" \
	--inputpath "$BINARIES_DIR" --outputpath "$BINARIES_DIR" --config "$cfg"
echo "post-image: $BINARIES_DIR/sdcard.img ($(du -h "$BINARIES_DIR/sdcard.img" | cut -f1))"
