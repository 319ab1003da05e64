#!/usr/bin/env bash
# The README's test command: the static checks (scripts/lint.sh), every Go
# test (the netns end-to-end tests need root, and in CI they must run), then
# the arm64 build checked under qemu.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/lint.sh

echo "== go test -race"
if [ "$(id -u)" != 0 ]; then
  echo "(not root: the network-namespace tests will skip)"
fi
go test -race -count=1 -timeout 12m ./...

echo "== fuzz (10,000 executions per target)"; FUZZTIME=10000x FUZZMINIMIZETIME=0 scripts/fuzz.sh

echo "== arm64"
make --no-print-directory test-arm64
