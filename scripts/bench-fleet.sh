#!/usr/bin/env bash
# "Power restored to the office": a fleet boots at once (500 phones by
# default, BENCH_PHONES to change), every phone pre-staged and the box in
# auto mode, so each is NOTIFYed as it announces itself. Reports what the
# phones saw: SUBSCRIBE→200 and 200→NOTIFY percentiles, time until all
# are provisioned. Real multicast in namespaces as root, loopback otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -n 65536 2>/dev/null || ulimit -n 4096 2>/dev/null || true
make --no-print-directory build >/dev/null
DEMO_PHONES=${BENCH_PHONES:-500} DEMO_AUTO=1 DEMO_STATS=1 DEMO_EXIT=1 \
  DEMO_HTTP_PORT=${DEMO_HTTP_PORT:-18090} DEMO_SIP_PORT=${DEMO_SIP_PORT:-15090} \
  scripts/demo.sh | grep -E '^(fleet|box kernel)'
