#!/usr/bin/env bash
# make image-check BUILDROOT=<Buildroot checkout>
#
# Loads configs/pnpbox_rpi4_64_defconfig into a scratch output directory
# (Buildroot runs olddefconfig on it) and fails if any symbol the
# defconfig sets came out different: a misspelt or renamed symbol, or one
# whose dependencies are not met, is dropped silently otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
# Called from make: our make's flags (O=, BUILDROOT=) must not leak into Buildroot's.
unset MAKEFLAGS MFLAGS MAKELEVEL
: "${BUILDROOT:?set BUILDROOT to a Buildroot checkout}"
defconfig=$repo/buildroot/configs/pnpbox_rpi4_64_defconfig
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

make -s -C "$BUILDROOT" O="$out" BR2_EXTERNAL="$repo/buildroot" pnpbox_rpi4_64_defconfig >/dev/null
missing=0
while IFS= read -r line; do
	case $line in
	'' | '#') continue ;;
	'# BR2_'*' is not set') sym=${line#\# } sym=${sym%% *} ;;
	'#'*) continue ;;
	*) sym=${line%%=*} ;;
	esac
	# Buildroot expands $(BR2_EXTERNAL_…_PATH) only when it uses a value;
	# .config keeps the text as written.
	if ! grep -qxF -- "$line" "$out/.config"; then
		echo "dropped or changed: $line  (.config: $(grep -E "^$sym=|^# $sym is not set" "$out/.config" || echo absent))"
		missing=$((missing + 1))
	fi
done <"$defconfig"
n=$(grep -c . "$defconfig")
if [ "$missing" -gt 0 ]; then
	echo "defconfig check: $missing of $n lines not kept by olddefconfig"
	exit 1
fi
echo "defconfig check: all $n lines kept ($(cd "$BUILDROOT" && git describe --always 2>/dev/null || echo 'Buildroot'))"
