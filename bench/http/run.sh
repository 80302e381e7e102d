#!/usr/bin/env bash
# bench/http/run.sh [UNITY_BIN] — `unity serve` under wrk (Debian package `wrk`): keep-alive,
# 64 connections, 2 threads, 10 s per route, on a fresh SQLite database (DB_CONNECTION and DB_URL
# in the environment point it at PostgreSQL instead). Prints requests/s and latency percentiles
# for GET /api/v1/notifications/unread-count, GET /api/v1/products/{sku} and POST /api/v1/orders.
# Figures, not assertions: docs/PERFORMANCE.md records them beside the peers'.
set -euo pipefail
case "${1:-}" in --help|-h) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
UNITY="${1:-$(cd "$(dirname "$0")/../.." && pwd)/build/release/unity}"
command -v wrk >/dev/null || { echo "error: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
DURATION="${DURATION:-10s}"
work="$(mktemp -d /tmp/unity-http-bench.XXXXXX)"
trap 'kill "$server" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"
export DB_DATABASE="${DB_DATABASE:-$work/bench.sqlite}" STORAGE_PATH="$work/storage"
"$UNITY" migrate --fresh >/dev/null
tenant=$("$UNITY" tenant:create Bench --json | sed 's/.*"id":\([0-9]*\).*/\1/')
user=$("$UNITY" user:create --tenant="$tenant" --email=b@b.test --name=B --role=admin --json |
  sed 's/.*"id":\([0-9]*\).*/\1/')
token=$("$UNITY" token:create --tenant="$tenant" --user="$user" --json |
  sed 's/.*"token":"\([^"]*\)".*/\1/')
"$UNITY" product:create --tenant="$tenant" --user="$user" \
  --data='{"sku":"B-1","name":"Bench","price":"9.50","cost":"4","reorder_level":"0","unit":"pcs"}' >/dev/null
"$UNITY" stock:receive --tenant="$tenant" --user="$user" \
  --data='{"sku":"B-1","location":"MAIN","quantity":"100000000","unit_cost":"4","batch":"B"}' >/dev/null
customer=$("$UNITY" customer:create --tenant="$tenant" --user="$user" --json \
  --data='{"name":"C","email":"c@c.test","payment_terms_days":30}' | sed 's/.*"id":\([0-9]*\),.*/\1/')
"$UNITY" serve --port=0 >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 100); do grep -q "listening on" "$work/serve.log" && break; sleep 0.1; done
url=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$work/serve.log")
cat >"$work/order.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"customer_id":$customer,"lines":[{"sku":"B-1","quantity":"1","unit_price":"9.50"}]}'
wrk.headers["Content-Type"] = "application/json"
LUA
run() {  # run NAME PATH [SCRIPT]
  local out
  out=$(wrk -t2 -c64 -d"$DURATION" --latency -H "Authorization: Bearer $token" \
    ${3:+-s "$3"} "$url$2")
  printf '%-34s %10s req/s  p50 %8s  p99 %8s  non-2xx %s\n' "$1" \
    "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" \
    "$(awk '$1=="50%" {print $2}' <<<"$out")" "$(awk '$1=="99%" {print $2}' <<<"$out")" \
    "$(awk '/Non-2xx/ {print $NF}' <<<"$out" | grep . || echo 0)"
}
echo "unity serve on $url ($(nproc) cores, wrk -t2 -c64 -d$DURATION)"
run "GET notifications/unread-count" /api/v1/notifications/unread-count
run "GET products/{sku}" /api/v1/products/B-1
run "POST orders" /api/v1/orders "$work/order.lua"
echo "server RSS: $(awk '/VmHWM/ {print $2 " " $3}' /proc/$server/status) (peak)"
