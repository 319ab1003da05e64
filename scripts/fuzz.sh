#!/usr/bin/env bash
# Runs every Go fuzz target in the module for FUZZTIME each (default 3s:
# the CI smoke run; `make fuzz` runs them longer). A failure leaves the
# crashing input in the package's testdata/fuzz/<Target>/ — commit it, so
# the plain test run replays it forever after.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime=${FUZZTIME:-3s}
# FUZZMINIMIZETIME=0 for short runs: Go's fuzzer otherwise spends the end of
# a 3 s run minimizing the inputs it just found interesting, and a run whose
# time is up mid-minimization fails with "context deadline exceeded" though
# no input failed. A failing input is still written (unminimized) and fails.
minimize=${FUZZMINIMIZETIME:-60s}
failed=()
count=0
for pkg in $(go list ./...); do
  targets=$(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true)
  for t in $targets; do
    count=$((count + 1))
    echo "== $pkg $t ($fuzztime)"
    if ! go test -run '^$' -fuzz "^${t}\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimize" "$pkg" >/tmp/fuzz.$$.log 2>&1; then
      cat /tmp/fuzz.$$.log
      failed+=("$pkg $t")
    else
      tail -n 2 /tmp/fuzz.$$.log | grep -E 'elapsed|ok' | tail -n 1 || true
    fi
  done
done
rm -f /tmp/fuzz.$$.log
echo "== $count fuzz targets, ${#failed[@]} failed"
if [ ${#failed[@]} -gt 0 ]; then
  printf '  %s\n' "${failed[@]}"
  echo "crashers are in the packages' testdata/fuzz/: commit them with the fix"
  exit 1
fi
