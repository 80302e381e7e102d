#!/usr/bin/env bash
# bench/scrape-impact.sh [BUILD_DIR] [ROUNDS] — does watching the queue slow it? The W1 drain
# (`unity-bench --workload=drain --runs=1`) alternated ROUNDS times (default 3) without and with
# observers: `unity serve` on the same database, `GET /metrics` scraped every second and the
# dashboard's own poll (`GET /dashboard/api/overview`, every 2 s as the page does) with an
# operator token. Prints one line per run and the medians; on a fresh SQLite file, or on
# PostgreSQL when DB_URL is set (DB_CONNECTION=pgsql implied). Figures, not assertions.
set -euo pipefail
case "${1:-}" in --help|-h) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
root="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="$(cd "${1:-$root/build/release}" && pwd)"
ROUNDS="${2:-3}"
work="$(mktemp -d /tmp/unity-scrape.XXXXXX)"
server="" watcher=""
trap 'kill $watcher $server 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"
if [ -n "${DB_URL:-}" ]; then export DB_CONNECTION=pgsql; else
  export DB_CONNECTION=sqlite DB_DATABASE="$work/drain.sqlite"; fi
export STORAGE_PATH="$work/storage"
"$BUILD/unity" migrate --fresh >/dev/null
token=$("$BUILD/unity" token:create --operator --name=bench --json |
  sed 's/.*"token":"\([^"]*\)".*/\1/')

drain() {  # drain LABEL: one line "LABEL jobs/s cpu_us_per_job"
  "$BUILD/unity-bench" --workload=drain --runs=1 --json --force | python3 -c '
import json, sys
w1 = json.load(sys.stdin)["w1"]; r = w1["runs"][0]
print(sys.argv[1], round(w1["drain_jobs_per_s"]), round(r["worker_cpu_ms"] * 1000 / r["drain_completed"], 1))
' "$1"
}

watch_start() {
  "$BUILD/unity" serve --port=0 >"$work/serve.log" 2>&1 &
  server=$!
  for _ in $(seq 100); do grep -q "listening on" "$work/serve.log" && break; sleep 0.1; done
  local url; url=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$work/serve.log")
  (
    i=0
    while :; do
      curl -sf -o /dev/null -H "Authorization: Bearer $token" "$url/metrics" || echo "scrape failed" >&2
      if [ $((i % 2)) = 0 ]; then
        curl -sf -o /dev/null -H "Authorization: Bearer $token" "$url/dashboard/api/overview" ||
          echo "dashboard poll failed" >&2
      fi
      i=$((i + 1))
      sleep 1
    done
  ) &
  watcher=$!
}

watch_stop() {
  kill "$watcher" "$server" 2>/dev/null || true
  wait "$watcher" "$server" 2>/dev/null || true
  watcher="" server=""
}

{
  for _ in $(seq "$ROUNDS"); do
    drain plain
    watch_start
    drain watched
    watch_stop
  done
} | tee "$work/runs.txt"
python3 - "$work/runs.txt" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
med = {k: (statistics.median(float(r[1]) for r in rows if r[0] == k),
           statistics.median(float(r[2]) for r in rows if r[0] == k)) for k in ("plain", "watched")}
p, w = med["plain"], med["watched"]
print(f"median plain {p[0]:.0f} jobs/s ({p[1]} us CPU/job), watched {w[0]:.0f} jobs/s "
      f"({w[1]} us CPU/job): watched/plain {w[0] / p[0]:.3f}")
PY
