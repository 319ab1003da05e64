#!/usr/bin/env bash
# Runs every Go fuzz target in the module for FUZZTIME each: a duration
# (`make fuzz`: 2m) or a count of executions such as 10000x (the CI smoke
# run in scripts/test.sh). A failure leaves the crashing input in the
# package's testdata/fuzz/<Target>/ — commit it, so the plain test run
# replays it forever after.
#
# A duration races Go's fuzzing coordinator: when the time runs out while a
# worker is mid-call, go1.26 and older report "context deadline exceeded"
# and fail though no input failed (golang/go#75804, fixed in go1.27). A
# count has no deadline, so the smoke run uses one. For durations, a run
# that failed with only that message and wrote no input is run once more;
# any other failure, or the same one twice, fails.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime=${FUZZTIME:-10000x}
# FUZZMINIMIZETIME=0 for smoke runs: Go's fuzzer otherwise spends the end of
# a short run minimizing the inputs it just found interesting, and a run whose
# time is up mid-minimization fails with "context deadline exceeded" though
# no input failed. A failing input is still written (unminimized) and fails.
minimize=${FUZZMINIMIZETIME:-60s}
# coordinator_deadline LOG: true when the run failed only with the
# coordinator's own deadline error: no input written, no panic, no test
# failure message besides it.
coordinator_deadline() {
  grep -q '^    context deadline exceeded$' "$1" &&
    ! grep -qE 'Failing input written|panic:|_test\.go:[0-9]+:' "$1"
}

failed=()
count=0
for pkg in $(go list ./...); do
  targets=$(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true)
  for t in $targets; do
    count=$((count + 1))
    echo "== $pkg $t ($fuzztime)"
    ok=0
    for attempt in 1 2; do
      if go test -run '^$' -fuzz "^${t}\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimize" "$pkg" >/tmp/fuzz.$$.log 2>&1; then
        ok=1
        break
      fi
      if [ "$attempt" = 1 ] && coordinator_deadline /tmp/fuzz.$$.log; then
        echo "   the fuzzing coordinator's deadline race (golang/go#75804), no input failed: once more"
        continue
      fi
      break
    done
    if [ "$ok" = 0 ]; then
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
