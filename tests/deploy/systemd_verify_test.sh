#!/usr/bin/env bash
# deploy.SystemdUnitsVerify: the systemd units in deploy/systemd, checked without a running systemd
# (none runs in a container or CI):
#   1. `systemd-analyze verify` of the template (as systemd instantiates it), an instance
#      (unity-worker@1) and the target reports nothing: no unknown key, no bad value, no missing
#      executable (it prints warnings but still exits 0, so any line about our units fails);
#      a deliberately broken copy is reported, proving the verifier reads our files here;
#   2. `systemctl --root=DIR enable unity-workers.target unity-worker@{1..8}` (offline) creates
#      the wants links the README describes;
#   3. `systemd-analyze security --offline=true` rates the hardening at most 5.0 (MEDIUM or better);
#   4. with the unity binary given: ExecStart, expanded the way systemd does (%H, %i, the ':'
#      prefix that leaves $ alone, quotes), run in a folder with a .env, starts a worker named host:unity-worker@1:PID with its
#      real pid, which exits 0 on SIGTERM.
# Usage: systemd_verify_test.sh [PATH/TO/unity]. Skips (exit 0) when systemd-analyze is absent.
set -uo pipefail

fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
note() { printf -- '--- %s\n' "$*"; }

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SRC="$ROOT/deploy/systemd"
SERVICE="$SRC/unity-worker@.service"
TARGET="$SRC/unity-workers.target"
[ -f "$SERVICE" ] && [ -f "$TARGET" ] || fail "missing $SERVICE or $TARGET"
if ! command -v systemd-analyze >/dev/null; then
  echo "SKIP: systemd-analyze not found (apt-get install systemd): the units were not verified"
  exit 0
fi
note "$(systemd-analyze --version | head -n 1)"

TMP="$(mktemp -d /tmp/unity-sd.XXXXXX)" || fail "mktemp"
WORKER_PID=""
cleanup() {
  local rc=$?
  [ -n "$WORKER_PID" ] && kill -KILL "$WORKER_PID" 2>/dev/null
  rm -rf "$TMP"
  exit $rc
}
trap cleanup EXIT

# ---- 1. systemd-analyze verify ----------------------------------------------------------------
mkdir -p "$TMP/units"
cp "$SERVICE" "$TARGET" "$TMP/units/"
verify() {  # verify FILE... : prints what systemd-analyze says; fails on rc != 0
  local out rc
  out="$(cd "$TMP/units" && systemd-analyze verify --man=no "$@" 2>&1)"; rc=$?
  printf '%s' "$out"
  return $rc
}
for unit in unity-worker@.service unity-worker@1.service unity-workers.target; do
  out="$(verify "$TMP/units/$unit")"; rc=$?
  # Lines about other units (e.g. the machine's own) are shown, not held against ours.
  ours="$(printf '%s\n' "$out" | grep -E 'unity-worker|unity-workers|'"$TMP")"
  [ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/    /'
  [ $rc -eq 0 ] || fail "systemd-analyze verify $unit exited $rc"
  [ -z "$ours" ] || fail "systemd-analyze verify $unit reported: $ours"
  note "systemd-analyze verify $unit: clean"
done
# The negative control: the same verifier must see a bad key and a bad value in our file.
mkdir -p "$TMP/broken"
sed -e 's/^Restart=always$/Restart=sometimes\nBogusKey=1/' "$SERVICE" >"$TMP/broken/unity-worker@.service"
out="$(cd "$TMP/broken" && systemd-analyze verify --man=no "$TMP/broken/unity-worker@.service" 2>&1)"
printf '%s\n' "$out" | grep -q "Unknown key 'BogusKey'" &&
  printf '%s\n' "$out" | grep -q 'Failed to parse service restart specifier' ||
  fail "systemd-analyze verify did not report a broken copy of the unit (it checks nothing here?): $out"
note "systemd-analyze verify reports a broken copy (negative control)"

# ---- 2. offline enable ------------------------------------------------------------------------
R="$TMP/root"
mkdir -p "$R/etc/systemd/system"
cp "$SERVICE" "$TARGET" "$R/etc/systemd/system/"
systemctl --root="$R" enable unity-workers.target unity-worker@{1..8}.service >"$TMP/enable.out" 2>&1 ||
  { cat "$TMP/enable.out" >&2; fail "systemctl --root enable failed"; }
for i in 1 2 3 4 5 6 7 8; do
  l="$R/etc/systemd/system/unity-workers.target.wants/unity-worker@$i.service"
  [ -L "$l" ] || fail "enable did not create $l"
  [ "$(readlink "$l")" = /etc/systemd/system/unity-worker@.service ] || fail "$l -> $(readlink "$l")"
done
[ -L "$R/etc/systemd/system/multi-user.target.wants/unity-workers.target" ] ||
  fail "enable did not hook unity-workers.target into multi-user.target"
[ "$(systemctl --root="$R" is-enabled unity-worker@5.service)" = enabled ] || fail "unity-worker@5 not enabled"
note "systemctl --root enable: unity-workers.target.wants/unity-worker@{1..8}.service, multi-user.target.wants/unity-workers.target"

# ---- 3. hardening score -----------------------------------------------------------------------
cp "$SERVICE" "$TMP/units/unity-worker@1.service"
if systemd-analyze security --help 2>/dev/null | grep -q -- '--offline'; then
  sec="$(systemd-analyze security --offline=true --no-pager "$TMP/units/unity-worker@1.service" 2>&1)"
  level="$(printf '%s\n' "$sec" | grep -o 'Overall exposure level for [^:]*: [0-9.]*' | awk '{print $NF}')"
  [ -n "$level" ] || { printf '%s\n' "$sec" >&2; fail "no exposure level from systemd-analyze security"; }
  awk -v l="$level" 'BEGIN { exit !(l <= 5.0) }' || fail "exposure level $level > 5.0: the hardening got weaker"
  note "systemd-analyze security --offline: exposure $level (<= 5.0)"
else
  note "systemd-analyze security --offline not supported by this version: not rated"
fi

# ---- 4. ExecStart as systemd expands it, run for real ------------------------------------------
if [ $# -lt 1 ]; then note "no unity binary given: ExecStart not run"; echo "OK"; exit 0; fi
UNITY="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
[ -x "$UNITY" ] || fail "not an executable: $1"
cp "$UNITY" "$TMP/unity" || fail "cannot copy $UNITY"
unset DB_CONNECTION DB_DATABASE DB_URL DB_HOST DB_PORT DB_USERNAME DB_PASSWORD DB_APP_ROLE \
  DB_BUSY_TIMEOUT_MS QUEUE_CONNECTION DB_QUEUE_TABLE DB_QUEUE DB_QUEUE_RETRY_AFTER STORAGE_PATH
APP="$TMP/app"
mkdir -p "$APP/storage"
printf 'DB_CONNECTION=sqlite\nDB_DATABASE=storage/unity.sqlite\nSTORAGE_PATH=storage\n' >"$APP/.env"
(cd "$APP" && "$TMP/unity" migrate >/dev/null) || fail "unity migrate failed"
grep -q '^WorkingDirectory=/srv/unity$' "$SERVICE" || fail "WorkingDirectory is not /srv/unity (update this test)"
grep -q '^ReadWritePaths=/srv/unity/storage$' "$SERVICE" || fail "ReadWritePaths does not cover /srv/unity/storage"
grep -q '^UMask=0027$' "$SERVICE" || fail "UMask=0027 missing: files the worker creates would be world-readable"
[ "$(grep -c '^ExecStart=' "$SERVICE")" = 1 ] || fail "expected one ExecStart="
cmd="$(grep '^ExecStart=' "$SERVICE" | cut -d= -f2-)"
HOST="$(uname -n)"
cmd="${cmd//%H/$HOST}"
cmd="${cmd//%i/1}"
case "$cmd" in *%*) fail "ExecStart uses a specifier this test does not expand: $cmd" ;; esac
# A leading ":" turns off systemd's $-expansion; without it "$$" would reach the shell as "$".
case "$cmd" in :*) cmd="${cmd#:}" ;; *) fail "ExecStart lacks the ':' prefix, so systemd would expand \$\$" ;; esac
cmd="${cmd//\/opt\/unity\/bin\/unity/$TMP/unity}"
eval "set -- $cmd"               # systemd's word splitting and quotes, as the shell does them
note "ExecStart argv: $(printf '[%s] ' "$@")"
(cd "$APP" && exec "$@") >"$TMP/worker.out" 2>&1 &
WORKER_PID=$!
started() { grep -q '"event":"worker.start"' "$APP/storage/logs/worker.log" 2>/dev/null; }
for i in $(seq 1 100); do started && break; kill -0 "$WORKER_PID" 2>/dev/null || break; sleep 0.2; done
started || { cat "$TMP/worker.out" >&2; fail "the worker started by ExecStart did not log worker.start"; }
name="$(grep '"event":"worker.start"' "$APP/storage/logs/worker.log" | sed 's/.*"worker":"\([^"]*\)".*/\1/')"
[ "$name" = "$HOST:unity-worker@1:$WORKER_PID" ] ||
  fail "worker name '$name', expected '$HOST:unity-worker@1:$WORKER_PID' (host:instance:pid of the exec'd unity)"
kill -TERM "$WORKER_PID"
wait "$WORKER_PID"; rc=$?
WORKER_PID=""
[ $rc -eq 0 ] || { cat "$TMP/worker.out" >&2; fail "the worker exited $rc on SIGTERM, expected 0"; }
note "ExecStart ran unity as '$name' (its own pid), SIGTERM -> exit 0"
echo "OK"
