#!/usr/bin/env bash
# bench/http/run.sh [BUILD_DIR] — `unity serve` under wrk (Debian package `wrk`): keep-alive,
# 64 connections, 2 threads, DURATION (10s) per run, the median of RUNS (3) runs per route, on a
# fresh SQLite database; with DB_CONNECTION=pgsql and DB_URL in the environment, on that
# PostgreSQL database instead, and then the same two reads served by the fastify + pg peer
# (bench/http/peer, `npm ci` there first) on the same tables, measured the same way.
# Routes: GET /api/v1/notifications/unread-count, GET /api/v1/products/{sku}, POST /api/v1/orders.
# Then 1,000 open SSE streams (unity_sse_bench): server RSS, commit-to-client latency.
# Figures, not assertions: docs/PERFORMANCE.md records them beside the peers'.
set -euo pipefail
case "${1:-}" in --help|-h) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
here="$(cd "$(dirname "$0")" && pwd)"
BUILD="$(cd "${1:-$here/../../build/release}" && pwd)"
UNITY="$BUILD/unity"
command -v wrk >/dev/null || { echo "error: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
[ -x "$UNITY" ] || { echo "error: $UNITY not built (cmake --preset release && cmake --build build/release)" >&2; exit 1; }
DURATION="${DURATION:-10s}" RUNS="${RUNS:-3}"
work="$(mktemp -d /tmp/unity-http-bench.XXXXXX)"
server="" peer=""
trap 'kill $server $peer 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
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

# measure NAME BASE_URL PATH [SCRIPT]: RUNS runs; prints the median run (by req/s).
measure() {
  local i out lines=()
  for i in $(seq "$RUNS"); do
    out=$(wrk -t2 -c64 -d"$DURATION" --latency -H "Authorization: Bearer $token" \
      ${4:+-s "$4"} "$2$3")
    lines+=("$(printf '%s %s %s %s' \
      "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" \
      "$(awk '$1=="50%" {print $2}' <<<"$out")" "$(awk '$1=="99%" {print $2}' <<<"$out")" \
      "$(awk '/Non-2xx/ {print $NF}' <<<"$out" | grep . || echo 0)")")
  done
  printf '%s\n' "${lines[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p" |
    awk -v name="$1" -v runs="$(printf '%s ' "${lines[@]%% *}")" \
      '{printf "%-40s %10s req/s  p50 %8s  p99 %8s  non-2xx %s  (runs: %s)\n", name, $1, $2, $3, $4, runs}'
}

echo "unity serve on $url ($(nproc) cores, wrk -t2 -c64 -d$DURATION, median of $RUNS)"
measure "unity GET notifications/unread-count" "$url" /api/v1/notifications/unread-count
measure "unity GET products/{sku}" "$url" /api/v1/products/B-1
measure "unity POST orders" "$url" /api/v1/orders "$work/order.lua"
echo "unity server RSS after the runs: $(awk '/VmRSS/ {print $2 " " $3}' /proc/$server/status)"

if [ "${DB_CONNECTION:-sqlite}" = pgsql ]; then
  [ -d "$here/peer/node_modules" ] || (cd "$here/peer" && npm ci --no-audit --no-fund >/dev/null)
  DATABASE_URL="$DB_URL" PORT="${PEER_PORT:-8091}" node "$here/peer/server.js" >"$work/peer.log" 2>&1 &
  peer=$!
  for _ in $(seq 100); do grep -q "listening" "$work/peer.log" && break; sleep 0.1; done
  purl="http://127.0.0.1:${PEER_PORT:-8091}"
  measure "peer (fastify+pg) GET unread-count" "$purl" /api/v1/notifications/unread-count
  measure "peer (fastify+pg) GET products/{sku}" "$purl" /api/v1/products/B-1
  kill "$peer"; wait "$peer" 2>/dev/null || true; peer=""
fi

port="${url##*:}"
echo "SSE: $("$BUILD/bench/unity_sse_bench" --port="${port%/}" --server-pid="$server" \
  --streams="${STREAMS:-1000}" --notifications="${NOTIFICATIONS:-300}")"
