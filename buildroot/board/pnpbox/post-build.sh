#!/bin/sh
# Buildroot post-build script: runs after the rootfs/ overlay is copied
# into the target tree, before the filesystem images are made.
# $1 is the target directory.
set -eu
TARGET_DIR=$1

# Mount points on the read-only root.
mkdir -p "$TARGET_DIR/data"

# The overlay's inittab supervises pnpd; Buildroot's own service scripts
# that would fight it (a DHCP client, the BusyBox watchdog) must not run.
rm -f "$TARGET_DIR/etc/init.d/S40network" "$TARGET_DIR/etc/init.d/S15watchdog"

# pnpd is what this image is for.
test -x "$TARGET_DIR/usr/bin/pnpd" || { echo "post-build: /usr/bin/pnpd missing" >&2; exit 1; }
