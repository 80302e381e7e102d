#!/usr/bin/env bash
# bench/queue-bench.sh — measure `unity-bench` (the peers' workloads W1–W4) the way
# docs/PERFORMANCE.md reports it: a Release build, a fresh SQLite file, and a private PostgreSQL
# cluster with the peers' settings (initdb --auth=trust, 127.0.0.1:$PGPORT, stock, fsync on), each
# in the default and the --transactional variant. One JSON file per run in $OUT.
#
#   bench/queue-bench.sh                       everything (~5 min on 2 vCPUs)
#   DBS=sqlite VARIANTS=default bench/queue-bench.sh
#   ARGS="--runs 1 --jobs 2000" bench/queue-bench.sh   smoke run (numbers meaningless)
#   PEERS=/tmp/peers bench/queue-bench.sh     after the peers' run-all.sh in that copy: also run
#       their CPU sampler and quiet gate, add other_cpu_pct to each result, save it as
#       $PEERS/contenders/unity-<db>-<variant>.json and re-render $PEERS/RESULTS.md
#
# Environment: OUT (default /tmp/unity-bench), DBS ("sqlite pgsql"), VARIANTS ("default
# transactional"), PGPORT (5499), ARGS (extra unity-bench options), KEEP_WORK=1 (keep the temp
# dir). Only processes started here are stopped (by PID, and pg_ctl on our own data dir).
set -uo pipefail
case "${1:-}" in
  --help|-h) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

OUT="${OUT:-/tmp/unity-bench}"
DBS="${DBS:-sqlite pgsql}"
VARIANTS="${VARIANTS:-default transactional}"
PGPORT="${PGPORT:-5499}"
PEERS="${PEERS:-}"
read -r -a EXTRA <<<"${ARGS:-}"
BUILD="$UNITY_ROOT/build/bench-release"

log "building unity and unity-bench (Release) in $BUILD"
[ -f "$BUILD/build.ninja" ] || cmake -S "$UNITY_ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >&2 ||
  die "cmake configure failed"
cmake --build "$BUILD" -j2 --target unity unity_bench >&2 || die "build failed"
UNITY="$BUILD/unity"
UNITY_BENCH="$BUILD/unity-bench"

mkdir -p "$OUT"
WORK="$(mktemp -d /tmp/unity-bench.XXXXXX)"
chmod 755 "$WORK"
SAMPLER_PID=""
PG_STARTED=0
cleanup() {
  if [ -n "$SAMPLER_PID" ] && kill -0 "$SAMPLER_PID" 2>/dev/null; then kill "$SAMPLER_PID"; fi
  if [ "$PG_STARTED" = 1 ]; then pg_as_user "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -m fast -w stop >/dev/null; fi
  if [ "${KEEP_WORK:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
cd "$WORK" || die "cannot enter $WORK"   # no stray .env; storage/ goes here
export STORAGE_PATH="$WORK/storage"

BEFORE_RUN=()
if [ -n "$PEERS" ]; then
  [ -f "$PEERS/lib/cpu-sampler.js" ] || die "PEERS=$PEERS has no lib/cpu-sampler.js"
  echo "$$" >"$WORK/roots"
  node "$PEERS/lib/cpu-sampler.js" "$WORK/cpu-samples.jsonl" "$WORK/roots" "$(getconf CLK_TCK)" &
  SAMPLER_PID=$!
  echo "${QUIET_BUDGET_S:-300}" >"$WORK/quiet-budget"
  BEFORE_RUN=(--before-run "node $PEERS/lib/wait-quiet.js $WORK/cpu-samples.jsonl $WORK/quiet-budget 25 5 60")
fi

pg_start_stock() {
  pg_setup
  if (exec 3<>"/dev/tcp/127.0.0.1/$PGPORT") 2>/dev/null; then die "port $PGPORT on 127.0.0.1 is in use"; fi
  mkdir -p "$WORK/pg"
  [ "$(id -u)" = 0 ] && chown "$PG_USER" "$WORK/pg"
  # As the peers' run-all.sh: trust auth, UTF8, C.UTF-8, every server setting stock (fsync on).
  pg_as_user "$PG_BIN/initdb" -D "$WORK/pg/data" --auth=trust -U postgres --encoding=UTF8 \
    --locale=C.UTF-8 >"$WORK/pg/initdb.log" 2>&1 || { cat "$WORK/pg/initdb.log" >&2; die "initdb failed"; }
  pg_as_user "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/server.log" -w \
    -o "-c port=$PGPORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$WORK/pg" start >/dev/null ||
    { cat "$WORK/pg/server.log" >&2; die "PostgreSQL did not start"; }
  PG_STARTED=1
  [ -n "$PEERS" ] && echo "$$ $(head -1 "$WORK/pg/data/postmaster.pid")" >"$WORK/roots"
  log "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PGPORT (stock settings, fsync on)"
}

run_variant() { # db variant
  local db=$1 variant=$2 name="unity-$1-$2" flags=()
  [ "$variant" = transactional ] && flags+=(--transactional)
  log "unity-bench $db/$variant"
  "$UNITY_BENCH" --variant "$db-$variant" "${flags[@]}" "${BEFORE_RUN[@]}" "${EXTRA[@]}" \
    >"$OUT/$name.json" || die "unity-bench $db/$variant failed"
  if [ -n "$PEERS" ]; then
    node "$UNITY_ROOT/bench/other_cpu.js" "$WORK/cpu-samples.jsonl" "$OUT/$name.json"
    mkdir -p "$PEERS/contenders"
    cp "$OUT/$name.json" "$PEERS/contenders/$name.json"
  fi
}

for db in $DBS; do
  case "$db" in
    sqlite) export DB_CONNECTION=sqlite DB_DATABASE="$WORK/bench.sqlite"; unset DB_URL ;;
    pgsql) pg_start_stock; export DB_CONNECTION=pgsql DB_URL="postgresql://postgres@127.0.0.1:$PGPORT/postgres" ;;
    *) die "unknown database '$db' in DBS (sqlite, pgsql)" ;;
  esac
  "$UNITY" migrate >&2 || die "migrate ($db) failed"
  for variant in $VARIANTS; do run_variant "$db" "$variant"; done
done

if [ -n "$PEERS" ] && [ -f "$PEERS/results.json" ]; then
  (cd "$PEERS" && node lib/report.js --from results.json) || die "re-rendering $PEERS/RESULTS.md failed"
  log "re-rendered $PEERS/RESULTS.md with the unity rows"
fi
log "results in $OUT"
