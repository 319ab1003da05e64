#!/usr/bin/env bash
# make bench: the Go micro-benchmarks of the hot paths, then pnpd on a LAN
# of network namespaces next to Kamailio (SIP, stateless 200) and nginx
# (config files, the same bytes) in the same run: boot storms, SIP
# throughput, downloads, floods, footprint. Writes out/bench.md (figures,
# ratios, date, machine); BENCH_DOC=1 also puts the table into
# docs/performance.md between its bench markers. Needs root and the
# Debian packages sip-tester, kamailio, nginx-light, wrk, curl, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p out
for tool in sipp kamailio nginx wrk curl ip python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install sip-tester kamailio nginx-light wrk curl iproute2 python3)"; exit 1; }
done
make --no-print-directory build build-arm64 >/dev/null
go build -o bin/lanbench ./scripts/bench/lanbench

echo "== Go benchmarks"
go test -run '^$' -bench . -benchmem -count 1 ./appliance/... 2>&1 | grep -E '^(Benchmark|FAIL|---)' | tee out/gobench.txt

echo "== LAN benchmarks (a few minutes)"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true # a socket per sipp phone
bin/lanbench run -out out/bench.md -arm64 bin/pnpd-linux-arm64 -gobench out/gobench.txt ${BENCH_ONLY:+-only "$BENCH_ONLY"}
cat out/bench.md

if [ -n "${BENCH_DOC:-}" ]; then
  # Replace what lies between the markers with the new report.
  awk -v report=out/bench.md '
    /<!-- bench:begin -->/ { print; while ((getline line < report) > 0) print line; skip = 1; next }
    /<!-- bench:end -->/ { skip = 0 }
    !skip' docs/performance.md >out/performance.md
  mv out/performance.md docs/performance.md
  echo "bench: docs/performance.md updated"
fi
