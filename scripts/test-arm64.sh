#!/usr/bin/env bash
# The box's binary: static linux/arm64, runs under qemu-user; and the unit
# tests of the packages that need no network, compiled for arm64 and run
# under qemu-aarch64-static. (Multicast cannot be tested under qemu-user:
# the group join is not translated — reference/go-stack.md §7.1.)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=bin/pnpd-linux-arm64

go version -m "$bin" | grep -q 'CGO_ENABLED=0' || { echo "$bin is not a CGO_ENABLED=0 build"; exit 1; }
go version -m "$bin" | grep -q 'GOARCH=arm64' || { echo "$bin is not arm64"; exit 1; }

if ! command -v qemu-aarch64-static >/dev/null; then
  if [ -n "${CI:-}" ]; then echo "qemu-aarch64-static missing (apt-get install qemu-user-static)"; exit 1; fi
  echo "qemu-aarch64-static not installed: skipping the arm64 run (apt-get install qemu-user-static)"
  exit 0
fi
out=$(qemu-aarch64-static "$bin" -version)
echo "$out"
case "$out" in *linux/arm64*) ;; *) echo "unexpected -version output"; exit 1 ;; esac

pure=(./appliance ./appliance/assigncsv ./appliance/profile ./appliance/store ./appliance/provision ./appliance/panel ./board/sim)
# TestFootprintChild re-executes its own test binary as a child process:
# under qemu-user that child is an arm64 file the host kernel cannot exec
# (no binfmt entry is assumed). It runs natively in make test's amd64 pass.
CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go test -count=1 -exec qemu-aarch64-static -skip '^TestFootprintChild$' "${pure[@]}"
