#!/usr/bin/env bash
# bench/drain-history.sh [BUILD_DIR] — the W1 drain figure of the current commit, appended to
# docs/drain-history.tsv so a regression shows the day it lands. Runs `unity-bench
# --workload=drain` (50,000 jobs, 3 runs, medians) on a fresh SQLite file, and on PostgreSQL too
# when DB_URL is set (DB_CONNECTION=pgsql is implied). Each line records the commit, the driver,
# the drain in jobs/s, the worker's CPU per job in µs (steadier than jobs/s on a busy machine:
# compare those first) and the load average at the start, which says how busy the machine was.
#   bench/drain-history.sh                   build/release, SQLite only
#   DB_URL=postgresql://… bench/drain-history.sh
set -euo pipefail
case "${1:-}" in --help|-h) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
root="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="$(cd "${1:-$root/build/release}" && pwd)"
history="$root/docs/drain-history.tsv"
# COMMIT names a tree without git (one exported with `git archive`); "+" marks uncommitted changes.
commit="${COMMIT:-$(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD -- src bench/unity_bench || echo +)}"
work="$(mktemp -d /tmp/unity-drain.XXXXXX)"
trap 'rm -rf "$work"' EXIT
[ -f "$history" ] || printf 'date\tcommit\tdriver\tdrain_jobs_per_s\tworker_cpu_us_per_job\tload_1min\n' >"$history"

measure() {  # measure DRIVER: one line of the history
  local load out
  load="$(cut -d' ' -f1 /proc/loadavg)"
  out="$(cd "$work" && "$BUILD/unity-bench" --workload=drain --runs=3 --json --force)"
  python3 -c '
import datetime, json, statistics, sys
driver, commit, load = sys.argv[1:4]
w1 = json.load(sys.stdin)["w1"]
cpu = statistics.median(r["worker_cpu_ms"] * 1000 / r["drain_completed"] for r in w1["runs"])
date = datetime.datetime.now(datetime.timezone.utc)
drain = w1["drain_jobs_per_s"]
print(f"{date:%Y-%m-%d %H:%M}\t{commit}\t{driver}\t{drain:.0f}\t{cpu:.1f}\t{load}")
' "$1" "$commit" "$load" <<<"$out"
}

(
  export DB_CONNECTION=sqlite DB_DATABASE="$work/drain.sqlite"
  cd "$work" && "$BUILD/unity" migrate >/dev/null
  measure sqlite
) | tee -a "$history"
if [ -n "${DB_URL:-}" ]; then
  (
    export DB_CONNECTION=pgsql
    cd "$work" && "$BUILD/unity" migrate >/dev/null
    measure pgsql
  ) | tee -a "$history"
fi
