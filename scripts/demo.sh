#!/usr/bin/env bash
# make demo: pnpd plus a fleet of simulated GXP phones, provisioned end to
# end, then pnpd stays up with its status page until Ctrl-C.
#
# As root: a LAN of network namespaces with real multicast — pnpd in
# "pnpdemo-box" (198.18.0.1/16), the phones in "pnpdemo-ph" (198.18.1.1…),
# and a link from this machine to the box (198.19.255.2) for the status
# page. Otherwise: everything on loopback, the phones (127.0.0.2…) sending
# their SUBSCRIBEs unicast to the box.
#
# DEMO_PHONES (20), DEMO_MODE (netns|loopback), DEMO_HTTP_PORT and
# DEMO_SIP_PORT (loopback only); for scripts/bench-fleet.sh: DEMO_AUTO
# (auto mode, no button), DEMO_STATS (summarise the phones' timings),
# DEMO_EXIT (stop once provisioned).
set -euo pipefail
cd "$(dirname "$0")/.."

N=${DEMO_PHONES:-20}
PW=${PNPD_ADMIN_PASSWORD:-pnpbox-demo}
FIRST_MAC=000B82D00001
work=$(mktemp -d "${TMPDIR:-/tmp}/pnpbox-demo.XXXXXX")
box_ns=pnpdemo-box ph_ns=pnpdemo-ph
pnpd_pid=""

mode=loopback
if [ "$(id -u)" = 0 ] && command -v ip >/dev/null && ip netns list >/dev/null 2>&1; then
  mode=netns
fi
mode=${DEMO_MODE:-$mode} # DEMO_MODE=loopback forces the no-root path

cleanup() {
  trap - EXIT INT TERM
  [ -n "$pnpd_pid" ] && kill "$pnpd_pid" 2>/dev/null && wait "$pnpd_pid" 2>/dev/null || true
  if [ "$mode" = netns ]; then
    ip netns pids "$ph_ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
    ip netns del "$box_ns" 2>/dev/null || true
    ip netns del "$ph_ns" 2>/dev/null || true
    ip link del pnpdemo0 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'echo; echo "demo: stopping"; exit 0' INT TERM

go build -o "$work/demo" ./scripts/demo

if [ "$mode" = netns ]; then
  # A LAN from an earlier run that was killed hard.
  ip netns del "$box_ns" 2>/dev/null || true
  ip netns del "$ph_ns" 2>/dev/null || true
  ip link del pnpdemo0 2>/dev/null || true
  ip netns add "$box_ns"; ip netns add "$ph_ns"
  ip -n "$box_ns" link add lan0 type veth peer name lan0 netns "$ph_ns"
  ip link add pnpdemo0 type veth peer name up0 netns "$box_ns"
  ip addr add 198.19.255.1/30 dev pnpdemo0; ip link set pnpdemo0 up
  for ns in "$box_ns" "$ph_ns"; do ip -n "$ns" link set lo up; ip -n "$ns" link set lan0 up; done
  ip -n "$box_ns" addr add 198.18.0.1/16 dev lan0
  ip -n "$box_ns" addr add 198.19.255.2/30 dev up0; ip -n "$box_ns" link set up0 up
  ip -n "$ph_ns" addr add 198.18.0.2/16 dev lan0
  # Consecutive addresses from 198.18.1.1, as phonesim binds them.
  for i in $(seq 0 $((N - 1))); do
    a=$((256 + 1 + i)); echo "addr add 198.18.$((a / 256)).$((a % 256))/16 dev lan0"
  done | ip -n "$ph_ns" -batch -
  base=http://198.19.255.2:8080
  ip netns exec "$box_ns" bin/pnpd -iface lan0 -board sim -data "$work/data" -http :8080 -admin-password "$PW" >"$work/pnpd.log" 2>&1 &
  pnpd_pid=$!
  fleet=(ip netns exec "$ph_ns" bin/phonesim -n "$N" -first-ip 198.18.1.1 -first-mac "$FIRST_MAC" -iface lan0 -reboot 1s)
else
  sip_port=${DEMO_SIP_PORT:-5060}
  base=http://127.0.0.1:${DEMO_HTTP_PORT:-8080}
  bin/pnpd -iface lo -board sim -data "$work/data" -http "${base#http://}" -sip-port "$sip_port" -admin-password "$PW" >"$work/pnpd.log" 2>&1 &
  pnpd_pid=$!
  fleet=(bin/phonesim -n "$N" -first-ip 127.0.0.2 -port 0 -first-mac "$FIRST_MAC" -target "127.0.0.1:$sip_port" -reboot 1s)
fi
echo "demo: pnpd running ($mode mode), log in $work/pnpd.log"

driver=()
if [ -n "${DEMO_STATS:-}" ]; then fleet+=(-json -timeout 10m); driver+=(-stats); fi
if [ -n "${DEMO_AUTO:-}" ]; then driver+=(-auto); fi
if ! "$work/demo" -base "$base" -password "$PW" -phones "$N" -first-mac "$FIRST_MAC" "${driver[@]}" -- "${fleet[@]}"; then
  echo "demo: FAILED; last lines of the pnpd log:"; tail -n 30 "$work/pnpd.log"
  exit 1
fi

if [ -n "${DEMO_EXIT:-}" ]; then
  if [ "$mode" = netns ]; then
    # What the kernel dropped before pnpd could read it.
    ip netns exec "$box_ns" awk '$1 == "Udp:" { if (!seen) { for (i = 2; i <= NF; i++) name[i] = $i; seen = 1; next }
      for (i = 2; i <= NF; i++) if (name[i] ~ /InErrors|RcvbufErrors/) printf "box kernel: Udp %s %s\n", name[i], $i }' /proc/net/snmp
  fi
  exit 0
fi

cat <<MSG

demo: pnpd keeps running. Status page: $base/  (user admin, password $PW)
      curl -u admin:$PW $base/api/status
      curl -u admin:$PW $base/api/phones
Ctrl-C stops it and removes the demo's namespaces and data.
MSG
wait "$pnpd_pid"
