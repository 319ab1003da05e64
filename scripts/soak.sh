#!/usr/bin/env bash
# soak.sh — kill pnpd with SIGKILL at random moments during a stream of
# assignment writes, CYCLES times (default 200), and check after every kill
# that the database passes bbolt's Check and holds every write that was
# answered 2xx (cmd/pnpd TestKillDurability). SOAK_SEED repeats a run.
set -euo pipefail
cd "$(dirname "$0")/.."
cycles="${CYCLES:-200}"
echo "soak: ${cycles} SIGKILL cycles"
SOAK_CYCLES="${cycles}" go test ./cmd/pnpd -run '^TestKillDurability$' -count=1 -timeout 60m -v \
	| grep -E '^(=== RUN|--- |PASS|FAIL|ok)|durability_test\.go' 
