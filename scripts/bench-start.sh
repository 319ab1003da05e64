#!/usr/bin/env bash
# Start to ready with many phones: writes a store of BENCH_PHONES (10,000)
# provisioned phones, then starts pnpd on it BENCH_RUNS (5) times and
# reports the time from exec to the first /healthz 200 (and the CPU time
# pnpd used until then), and pnpd's VmRSS
# 2 s after that; then the medians and the load average (wall times on a
# shared machine measure the neighbours too). BENCH_PNPD: a pnpd binary
# (default: built here).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${BENCH_PHONES:-10000} runs=${BENCH_RUNS:-5} port=${BENCH_HTTP_PORT:-18193}
work=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
pnpd=${BENCH_PNPD:-}
if [ -z "$pnpd" ]; then
  go build -o "$work/pnpd" ./cmd/pnpd
  pnpd=$work/pnpd
fi
go test -c -o "$work/provision.test" ./appliance/provision
PNPBOX_WRITE_FLEET="$work/fleet.db:$n" "$work/provision.test"
mkdir -p "$work/data"
# Run 0 is not counted: a store without snapshots takes its daily one at
# start, which a box in service has already done.
for r in $(seq 0 "$runs"); do
  cp "$work/fleet.db" "$work/data/phones.db"
  t0=$(date +%s%N)
  "$pnpd" -iface lo -board sim -data "$work/data" -http "127.0.0.1:$port" -sip-port "${BENCH_SIP_PORT:-15193}" \
    -admin-password bench-admin-pw >"$work/pnpd.log" 2>&1 &
  pid=$!
  until curl -sf -o /dev/null "http://127.0.0.1:$port/healthz"; do
    kill -0 "$pid" 2>/dev/null || { echo "bench-start: pnpd exited"; tail "$work/pnpd.log"; exit 1; }
    sleep 0.005
  done
  t1=$(date +%s%N)
  # CPU time used until ready (user+system, clock ticks): on a shared
  # machine it says more than the wall time.
  cpu=$(awk -v hz="$(getconf CLK_TCK)" '{print int(($14 + $15) * 1000 / hz)}' "/proc/$pid/stat")
  sleep 2
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
  [ "$r" -eq 0 ] && continue
  printf 'run %d: %d phones, ready in %d ms (CPU %d ms), VmRSS %.1f MiB\n' "$r" "$n" $(((t1 - t0) / 1000000)) "$cpu" "$(echo "$rss / 1024" | bc -l)"
  echo "$(((t1 - t0) / 1000000)) $cpu $rss" >>"$work/runs"
done
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
printf 'median of %d: ready in %s ms (CPU %s ms), VmRSS %.1f MiB; load average %s\n' "$runs" \
  "$(cut -d' ' -f1 "$work/runs" | median)" "$(cut -d' ' -f2 "$work/runs" | median)" \
  "$(echo "$(cut -d' ' -f3 "$work/runs" | median) / 1024" | bc -l)" "$(cut -d' ' -f1-3 /proc/loadavg)"
