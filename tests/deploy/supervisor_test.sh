#!/usr/bin/env bash
# deploy.SupervisorRunsWorkers: deploy/supervisor/unity-worker.conf, rendered for a temp folder
# (numprocs 3, the current user), under a private supervisord, with the real `unity` binary on an
# embedded SQLite database:
#   1. the 3 workers come up RUNNING, each named host:unity-worker_NN:PID with its real pid;
#   2. 300 diag.noop + 6 diag.sleep jobs all complete (<= 60 s), done by >= 2 distinct workers,
#      every worker.log line whole;
#   3. SIGKILL of a worker in the middle of a job: Supervisor starts it again (new pid), and the
#      job it held is rescued after its lease and completes;
#   4. `unity queue:restart`: every worker exits 0 after its jobs and comes back with a new pid;
#   5. `supervisorctl stop all` while jobs run: the jobs finish, every worker exits 0 and is
#      STOPPED (not FATAL, not SIGKILLed), then supervisord shuts down.
# Usage: supervisor_test.sh PATH/TO/unity
# Without supervisord it skips (exit 0), or fails when UNITY_REQUIRE_PG=1 (CI).
set -uo pipefail

fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
note() { printf -- '--- %s\n' "$*"; }

[ $# -eq 1 ] || fail "usage: $0 PATH/TO/unity"
UNITY="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
[ -x "$UNITY" ] || fail "not an executable: $1"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TEMPLATE="$ROOT/deploy/supervisor/unity-worker.conf"
[ -f "$TEMPLATE" ] || fail "missing $TEMPLATE"

if ! command -v supervisord >/dev/null || ! command -v supervisorctl >/dev/null; then
  if [ "${UNITY_REQUIRE_PG:-}" = 1 ]; then
    fail "supervisord/supervisorctl not found (apt-get install supervisor; scripts/test installs it)"
  fi
  echo "SKIP: supervisord not found (apt-get install supervisor); set UNITY_REQUIRE_PG=1 to fail instead"
  exit 0
fi

# The workers must read the test's .env only, not the caller's database settings.
unset DB_CONNECTION DB_DATABASE DB_URL DB_HOST DB_PORT DB_USERNAME DB_PASSWORD DB_APP_ROLE \
  DB_BUSY_TIMEOUT_MS QUEUE_CONNECTION DB_QUEUE_TABLE DB_QUEUE DB_QUEUE_RETRY_AFTER STORAGE_PATH

TMP="$(mktemp -d /tmp/unity-sup.XXXXXX)" || fail "mktemp"
APP="$TMP/app"
CONF="$TMP/supervisord.conf"
SUPLOG="$TMP/supervisord.log"
WLOG="$APP/storage/logs/worker.log"
SUP_PID=""
SEEN_PIDS=()
mkdir -p "$APP" "$TMP/log" "$TMP/conf.d" "$TMP/bin"

cleanup() {
  local rc=$? i pid
  if [ -n "$SUP_PID" ] && kill -0 "$SUP_PID" 2>/dev/null; then
    supervisorctl -c "$CONF" shutdown >/dev/null 2>&1
    for i in $(seq 1 100); do kill -0 "$SUP_PID" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$SUP_PID" 2>/dev/null && kill -TERM "$SUP_PID" 2>/dev/null && sleep 2
    kill -0 "$SUP_PID" 2>/dev/null && kill -KILL "$SUP_PID" 2>/dev/null
  fi
  # Workers left behind (supervisord killed): only ours, recognised by their working directory.
  for pid in "${SEEN_PIDS[@]}"; do
    [ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$APP" ] && kill -KILL "$pid" 2>/dev/null
  done
  if [ $rc -ne 0 ]; then
    echo "--- supervisord.log (tail)" >&2; tail -n 40 "$SUPLOG" >&2 2>/dev/null
    for f in "$TMP"/log/*.log; do
      [ -f "$f" ] && { echo "--- $(basename "$f") (tail)" >&2; tail -n 10 "$f" >&2; }
    done
    echo "--- worker.log (tail)" >&2; tail -n 10 "$WLOG" >&2 2>/dev/null
  fi
  if [ "${UNITY_KEEP_TMP:-}" = 1 ]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

u() { (cd "$APP" && "$UNITY" "$@"); }
sctl() { supervisorctl -c "$CONF" "$@"; }
# wait_until SECONDS WHAT COMMAND... : poll every 0.2 s until COMMAND succeeds, or fail.
wait_until() {
  local secs="$1" what="$2" deadline; shift 2
  deadline=$(( $(date +%s) + secs ))
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "timed out after ${secs}s waiting for: $what"
    sleep 0.2
  done
}

# ---- the application folder (and a copy of the binary, as installed: a rebuild of the build
# folder while the test runs must not pull it from under the workers) ---------------------------
cat >"$APP/.env" <<'EOF'
DB_CONNECTION=sqlite
DB_DATABASE=storage/unity.sqlite
STORAGE_PATH=storage
# a short lease so the job of a killed worker is rescued quickly
DB_QUEUE_RETRY_AFTER=5
EOF
mkdir -p "$APP/storage"
cp "$UNITY" "$TMP/bin/unity" || fail "cannot copy $UNITY"
UNITY="$TMP/bin/unity"
u migrate >"$TMP/migrate.out" 2>&1 || { cat "$TMP/migrate.out" >&2; fail "unity migrate failed"; }

# ---- render the deploy config for this folder -------------------------------------------------
USER_NAME="$(id -un)"
sed -e "s|/opt/unity/bin/unity|$UNITY|g" \
    -e "s|/srv/unity|$APP|g" \
    -e "s|/var/log/unity|$TMP/log|g" \
    -e "s|^numprocs=8$|numprocs=3|" \
    -e "s|^user=unity$|user=$USER_NAME|" \
    -e "s|^stopwaitsecs=.*|stopwaitsecs=60|" \
    "$TEMPLATE" >"$TMP/conf.d/unity-worker.conf"
R="$TMP/conf.d/unity-worker.conf"
grep -q '^numprocs=3$' "$R" || fail "rendering: no 'numprocs=8' line in $TEMPLATE"
grep -q "^user=$USER_NAME\$" "$R" || fail "rendering: no 'user=unity' line in $TEMPLATE"
grep -q "^directory=$APP\$" "$R" || fail "rendering: no 'directory=/srv/unity' line in $TEMPLATE"
grep -q "^command=.*$UNITY queue:work" "$R" || fail "rendering: command does not run /opt/unity/bin/unity queue:work"
grep -q '^stopwaitsecs=60$' "$R" || fail "rendering: no stopwaitsecs line in $TEMPLATE"
! grep -Eq '/opt/unity|/srv/unity|/var/log/unity' "$R" || fail "rendering left a production path in $R"
for k in 'autorestart=true' 'stopasgroup=true' 'killasgroup=true' 'stopsignal=TERM' \
         'process_name=%(program_name)s_%(process_num)02d'; do
  grep -qxF "$k" "$R" || fail "$TEMPLATE lacks '$k'"
done

cat >"$CONF" <<EOF
[unix_http_server]
file=$TMP/supervisor.sock
chmod=0700

[supervisord]
logfile=$SUPLOG
pidfile=$TMP/supervisord.pid
childlogdir=$TMP/log
loglevel=info

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://$TMP/supervisor.sock

[include]
files = $TMP/conf.d/*.conf
EOF

# ---- helpers on supervisorctl status and the worker log ---------------------------------------
W=(unity-worker_01 unity-worker_02 unity-worker_03)
status_all() { sctl status 2>&1 || true; }          # exits non-zero unless all RUNNING
state_of() { status_all | awk -v n="unity-worker:$1" '$1 == n { print $2 }'; }
pid_of() { status_all | awk -v n="unity-worker:$1" '$1 == n && $2 == "RUNNING" { sub(",", "", $4); print $4 }'; }
all_running() {
  local w
  for w in "${W[@]}"; do [ "$(state_of "$w")" = RUNNING ] || return 1; done
}
remember_pids() { local w p; for w in "${W[@]}"; do p="$(pid_of "$w")"; [ -n "$p" ] && SEEN_PIDS+=("$p"); done; }
# queue totals from `queue:stats --json`: ready+reserved+delayed, and failed
queue_sum() { u queue:stats --json 2>/dev/null | grep -o "\"$1\":[0-9]*" | cut -d: -f2 | awk '{s+=$1} END {print s+0}'; }
queue_idle() { [ "$(queue_sum ready)" = 0 ] && [ "$(queue_sum reserved)" = 0 ] && [ "$(queue_sum delayed)" = 0 ]; }
done_lines() { grep '"event":"job.end"' "$WLOG" 2>/dev/null | grep '"outcome":"done"'; }
done_count() { done_lines | wc -l; }
# Jobs are told apart by uuid: on SQLite a job id is reused once the newest row is deleted.
job_done() { done_lines | grep -q "\"uuid\":\"$1\""; }
dispatch_uuid() { u queue:dispatch "$@" --json | grep -o '"uuid":"[^"]*"' | head -n 1 | cut -d'"' -f4; }
# the worker holding a job's lease right now (jobs.worker is set when it is claimed)
holder_of() {
  sqlite3 -readonly -cmd '.timeout 5000' "$APP/storage/unity.sqlite" \
    "SELECT worker FROM jobs WHERE uuid = '$1' AND reserved_at IS NOT NULL" 2>/dev/null
}
held() { [ -n "$(holder_of "$1")" ]; }
count_ge() { [ "$("$1")" -ge "$2" ]; }
command -v sqlite3 >/dev/null || fail "sqlite3 (the command-line shell) not found: apt-get install sqlite3"

# ---- 1. start ---------------------------------------------------------------------------------
note "supervisord -n -c $CONF (3 workers, user $USER_NAME)"
supervisord -n -c "$CONF" >"$TMP/supervisord.out" 2>&1 &
SUP_PID=$!
wait_until 30 "3 workers RUNNING" all_running
remember_pids
status_all
HOST="$(uname -n)"
for w in "${W[@]}"; do
  [ "$(state_of "$w")" = RUNNING ] || fail "$w is $(state_of "$w"), not RUNNING"
done

# The workers run with the config's umask (027): whatever they create is not world-readable.
for w in "${W[@]}"; do
  um="$(awk '/^Umask:/ { print $2 }' "/proc/$(pid_of "$w")/status" 2>/dev/null)"
  [ "$um" = 0027 ] || fail "$w runs with umask '$um', expected 0027 (umask= in the config)"
done

# ---- 2. jobs ----------------------------------------------------------------------------------
u queue:dispatch diag.noop --tenant 0 --count 300 >/dev/null || fail "dispatching 300 diag.noop failed"
for i in 1 2 3 4 5 6; do
  u queue:dispatch diag.sleep --tenant 0 --data '{"ms":300}' >/dev/null || fail "dispatching diag.sleep failed"
done
t0=$(date +%s)
wait_until 60 "queue:stats to show no job ready, reserved or delayed" queue_idle
note "306 jobs drained in $(( $(date +%s) - t0 ))s"
[ "$(queue_sum failed)" = 0 ] || fail "queue:stats shows $(queue_sum failed) failed job(s)"
# worker.log is flushed at least every second
for i in $(seq 1 50); do count_ge done_count 306 && break; sleep 0.2; done
# Every line one whole JSON object: several workers append to the same file, and a line written
# in two pieces can be cut by another worker's line.
malformed() { awk '!/^\{".*\}$/ || gsub(/"ts":/, "&") != 1 { print NR ": " $0 }' "$WLOG"; }
bad="$(malformed | wc -l)"
[ "$bad" = 0 ] || { malformed | head -n 6 | cut -c1-600 >&2; fail "worker.log has $bad malformed line(s) (lines of several workers interleaved)"; }
[ "$(done_count)" -eq 306 ] || fail "worker.log has $(done_count) done jobs, expected 306"
# The log and the database (with its -wal/-shm) hold tenants' data: no access for other users.
for f in "$WLOG" "$APP/storage/unity.sqlite" "$APP/storage/unity.sqlite-wal" "$APP/storage/unity.sqlite-shm"; do
  [ -e "$f" ] || continue
  mode="$(stat -c %a "$f")"
  [ $(( 8#$mode & 8#007 )) = 0 ] || fail "$f has mode $mode: readable by other users"
done
names="$(done_lines | sed 's/.*"worker":"\([^"]*\)".*/\1/' | sort | uniq -c)"
echo "jobs done per worker:"; echo "$names"
distinct="$(echo "$names" | grep -c .)"
[ "$distinct" -ge 2 ] || fail "jobs were done by $distinct distinct worker name(s), expected >= 2"
# Each name is host:unity-worker_NN:PID with the pid Supervisor reports for that slot.
for w in "${W[@]}"; do
  p="$(pid_of "$w")"
  grep -q "\"worker\":\"$HOST:$w:$p\"" "$WLOG" ||
    fail "no worker.log line from \"$HOST:$w:$p\" (the --name rendered from the config, pid $p)"
done

# ---- 3. SIGKILL one worker in the middle of a job ---------------------------------------------
# The job's holder is read from the jobs table at once (the worker log is flushed only every
# second), so the kill lands well inside the 3 s job.
uuid="$(dispatch_uuid diag.sleep --tenant 0 --data '{"ms":3000}')"
[ -n "$uuid" ] || fail "dispatching the long diag.sleep failed"
wait_until 10 "job $uuid to be claimed" held "$uuid"
victim_name="$(holder_of "$uuid")"                  # host:unity-worker_NN:PID
victim="$(echo "$victim_name" | cut -d: -f2)"
old_pid="$(echo "$victim_name" | cut -d: -f3)"
[ "$(pid_of "$victim")" = "$old_pid" ] ||
  fail "job $uuid is held by $victim_name but Supervisor says $victim is pid $(pid_of "$victim")"
note "kill -KILL $old_pid ($victim, running job $uuid)"
kill -KILL "$old_pid" || fail "kill -KILL $old_pid"
restarted() { local p; p="$(pid_of "$victim")"; [ -n "$p" ] && [ "$p" != "$old_pid" ]; }
wait_until 20 "$victim RUNNING again with a new pid" restarted
remember_pids
note "$victim restarted: pid $old_pid -> $(pid_of "$victim")"
grep -q "exited: $victim (terminated by SIGKILL" "$SUPLOG" ||
  fail "supervisord.log does not record the SIGKILL of $victim"
all_running || fail "not every worker RUNNING after the restart: $(status_all)"
wait_until 60 "job $uuid (held by the killed worker) to be rescued and completed" job_done "$uuid"
done_lines | grep "\"uuid\":\"$uuid\"" | grep -q '"attempt":2' ||
  fail "job $uuid completed, but not on its 2nd attempt"
grep '"event":"job.end"' "$WLOG" | grep "\"uuid\":\"$uuid\"" | grep -q '"outcome":"rescued:' ||
  fail "no 'rescued' record for job $uuid"
wait_until 30 "the queue to be idle after the rescue" queue_idle
all_running || fail "a worker is not RUNNING after the rescue: $(status_all)"
note "job $uuid rescued after its lease and completed on attempt 2"

# ---- 4. queue:restart: every worker exits 0 after its jobs and comes back ---------------------
declare -A before
for w in "${W[@]}"; do before[$w]="$(pid_of "$w")"; done
mark="$(wc -l <"$SUPLOG")"
u queue:restart >/dev/null || fail "unity queue:restart failed"
all_new() {
  local w p
  for w in "${W[@]}"; do p="$(pid_of "$w")"; [ -n "$p" ] && [ "$p" != "${before[$w]}" ] || return 1; done
}
wait_until 40 "every worker to restart after queue:restart" all_new
remember_pids
for w in "${W[@]}"; do
  tail -n +"$((mark + 1))" "$SUPLOG" | grep -q "exited: $w (exit status 0; expected)" ||
    fail "$w did not exit with status 0 on queue:restart: $(tail -n +"$((mark + 1))" "$SUPLOG" | grep "$w" | tr '\n' ' ')"
done
note "queue:restart: all 3 exited 0 and were started again"

# ---- 5. supervisorctl stop all while a job runs -----------------------------------------------
uuid="$(dispatch_uuid diag.sleep --tenant 0 --data '{"ms":3000}')"
[ -n "$uuid" ] || fail "dispatching diag.sleep failed"
wait_until 10 "job $uuid to be claimed before stopping" held "$uuid"
holder="$(holder_of "$uuid")"
mark="$(wc -l <"$SUPLOG")"
stopped_before="$(grep -c '"detail":"stopped","event":"worker.exit"' "$WLOG")"
note "supervisorctl stop all (job $uuid in flight on $holder)"
sctl stop all || fail "supervisorctl stop all failed"
status_all
for w in "${W[@]}"; do
  s="$(state_of "$w")"
  [ "$s" = STOPPED ] || [ "$s" = EXITED ] || fail "$w is $s after stop all, expected STOPPED or EXITED"
  tail -n +"$((mark + 1))" "$SUPLOG" | grep -q "stopped: $w (exit status 0)" ||
    fail "$w did not exit 0 on SIGTERM: $(tail -n +"$((mark + 1))" "$SUPLOG" | grep "$w" | tr '\n' ' ')"
done
job_done "$uuid" || fail "job $uuid was running at the stop but did not complete"
done_lines | grep "\"uuid\":\"$uuid\"" | grep -q "\"worker\":\"$holder\"" ||
  fail "job $uuid was not completed by $holder, the worker that held it at the stop"
queue_idle || fail "jobs left ready, reserved or delayed after a graceful stop"
stopped_now="$(grep -c '"detail":"stopped","event":"worker.exit"' "$WLOG")"
[ "$((stopped_now - stopped_before))" -eq 3 ] ||
  fail "worker.log records $((stopped_now - stopped_before)) worker.exit 'stopped' events, expected 3"
note "stop all: the in-flight job finished, 3 workers exited 0 and are STOPPED"

# No exit but the SIGKILL above was unexpected (a worker dying on its own, e.g. on a database
# error, would be restarted by Supervisor and otherwise go unnoticed here).
unexpected="$(grep 'not expected' "$SUPLOG" | grep -v "exited: $victim (terminated by SIGKILL")"
[ -z "$unexpected" ] || fail "unexpected worker exits: $unexpected"
grep -q FATAL "$SUPLOG" && fail "a worker went FATAL: $(grep FATAL "$SUPLOG")"

sctl shutdown >/dev/null || fail "supervisorctl shutdown failed"
wait "$SUP_PID"; rc=$?
SUP_PID=""
[ $rc -eq 0 ] || fail "supervisord exited $rc"
note "supervisord shut down"
echo "OK: deploy/supervisor/unity-worker.conf runs, restarts and stops the workers"
