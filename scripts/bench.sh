#!/usr/bin/env bash
# make bench: the Go micro-benchmarks of the hot paths, then a fleet boot
# on loopback (pnpd and phonesim, real sockets) that measures what a phone
# sees. Numbers go in the README's Performance section.
set -euo pipefail
cd "$(dirname "$0")/.."
go test -run '^$' -bench . -benchmem -count 1 ./appliance/... 2>&1 | grep -E '^(Benchmark|ok|FAIL|---)'
scripts/bench-fleet.sh
