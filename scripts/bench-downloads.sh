#!/usr/bin/env bash
# Config downloads side by side: wrk -c64 over 100 phones' config files
# against pnpd, then against nginx serving the same bytes from disk, in one
# run on loopback. Needs wrk and nginx (Debian: wrk, nginx-light).
# BENCH_PNPD: a pnpd binary (default: built into a temp dir);
# BENCH_SECONDS: per target (default 10).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${BENCH_SECONDS:-10}
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
pnpd=${BENCH_PNPD:-}
if [ -z "$pnpd" ]; then
  go build -o "$work/pnpd" ./cmd/pnpd
  pnpd=$work/pnpd
fi
pw=bench-admin-pw
port=${BENCH_HTTP_PORT:-18191} nport=${BENCH_NGINX_PORT:-18192}
"$pnpd" -iface lo -board sim -data "$work/data" -http "127.0.0.1:$port" -sip-port "${BENCH_SIP_PORT:-15191}" \
  -admin-password "$pw" >"$work/pnpd.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

# 100 pre-staged phones, each with an account and two keys.
{
  echo "mac,extension,password,display_name,auth_id,sip_server,codecs,keys,model"
  for i in $(seq 0 99); do
    printf '000B8200%04X,%d,pw-%d-secret,Desk %d,,pbx.example.net,,blf:%d:Next|speed_dial:100:Reception,GXP2140\n' \
      "$i" $((1000 + i)) "$i" "$i" $((1001 + i))
  done
} >"$work/phones.csv"
curl -sf -u "admin:$pw" -H 'Content-Type: text/csv' --data-binary @"$work/phones.csv" \
  "http://127.0.0.1:$port/api/assignments/import" >/dev/null
curl -sf -u "admin:$pw" "http://127.0.0.1:$port/api/phones" |
  grep -o '"config_url": *"[^"]*"' | sed 's/.*"http:\/\/[^/]*//; s/"$//' >"$work/paths"
[ "$(wc -l <"$work/paths")" -eq 100 ] || { echo "bench-downloads: expected 100 config URLs"; exit 1; }

# The same bytes for nginx, at the same paths.
mkdir -p "$work/www"
while read -r p; do
  mkdir -p "$work/www$(dirname "$p")"
  curl -sf "http://127.0.0.1:$port$p" -o "$work/www$p"
done <"$work/paths"
chmod 755 "$work"; chmod -R a+rX "$work/www" # nginx's workers drop root
cat >"$work/nginx.conf" <<NGINX
worker_processes 2;
pid $work/nginx.pid;
error_log $work/nginx.err;
events { worker_connections 1024; }
http {
  access_log off;
  default_type application/xml;
  server { listen 127.0.0.1:$nport; root $work/www; }
}
NGINX
nginx -c "$work/nginx.conf" -g 'daemon off;' &
pids+=($!)
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$nport$(head -1 "$work/paths")" >/dev/null && break; sleep 0.1; done

# wrk walks the 100 paths round-robin on every connection.
{
  echo 'local paths, n = {}, 0'
  while read -r p; do echo "table.insert(paths, \"$p\")"; done <"$work/paths"
  cat <<'LUA'
request = function()
  n = n % #paths + 1
  return wrk.format("GET", paths[n])
end
LUA
} >"$work/paths.lua"

run() { # name port
  wrk -t2 -c64 -d"${secs}s" --latency -s "$work/paths.lua" "http://127.0.0.1:$2" >"$work/$1.out"
  awk -v n="$1" '/Requests\/sec/ {r=$2} /^ +99%/ {p=$2} /Non-2xx/ {e=$NF}
    END {printf "%-6s %10.0f req/s  p99 %s  non-2xx %s\n", n, r, p, (e == "" ? 0 : e)}' "$work/$1.out"
}
before=$(curl -sf -u "admin:$pw" "http://127.0.0.1:$port/api/phones" | grep -o '"downloads": *[0-9]*' | awk -F: '{s+=$2} END {print s}')
run pnpd "$port"
run nginx "$nport"
sleep 1 # one flush
after=$(curl -sf -u "admin:$pw" "http://127.0.0.1:$port/api/phones" | grep -o '"downloads": *[0-9]*' | awk -F: '{s+=$2} END {print s}')
served=$(awk '/requests in/ {print $1}' "$work/pnpd.out")
awk -v a="$(awk '/Requests\/sec/ {print $2}' "$work/pnpd.out")" -v b="$(awk '/Requests\/sec/ {print $2}' "$work/nginx.out")" \
  'BEGIN {printf "ratio  %.2f × nginx\n", a / b}'
echo "recorded $((after - before)) downloads of $served served"
