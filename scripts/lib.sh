# Shared by scripts/run and scripts/test: install what is missing, build, run a private PostgreSQL.
# Sourced, not run.

UNITY_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Debian packages the build and the tests need. postgresql-15 brings the server the tests start.
UNITY_BUILD_PACKAGES=(g++ cmake ninja-build ccache pkg-config libsqlite3-dev sqlite3 libpq-dev
  nlohmann-json3-dev libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev clang-format
  libcsv-dev libxlsxwriter-dev libhpdf-dev libcurl4-openssl-dev libcpp-httplib-dev libboost-dev
  libsodium-dev libhowardhinnant-date-dev)
UNITY_TEST_PACKAGES=(postgresql-15 postgresql-client-15 supervisor nodejs prometheus chromium)

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    die "need root to run: $* (install the packages by hand or run as root)"; fi
}

# ensure_packages PKG... : apt-get installs the ones not installed yet (update only when needed).
ensure_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null ||
    die "apt-get update failed"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null || die "apt-get install ${missing[*]} failed"
}

# ensure_node_modules DIR : installs the node packages DIR's package-lock.json pins (npm ci), when
# they are missing or the lock file changed since. For the OpenAPI validator of the tests.
ensure_node_modules() {
  local dir="$1"
  command -v npm >/dev/null || ensure_packages npm
  if [ ! -f "$dir/node_modules/.package-lock.json" ] ||
     [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    log "installing the node packages of ${dir#"$UNITY_ROOT"/}"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2) || die "npm ci in $dir failed"
  fi
}

# build PRESET : configure (once) and build with CMake presets; prints the build folder.
build() {
  local preset="$1" dir="$UNITY_ROOT/build/$1"
  if [ ! -f "$dir/build.ninja" ]; then
    log "configuring ($preset)"
    cmake --preset "$preset" -S "$UNITY_ROOT" >/dev/null || die "cmake configure failed"
  fi
  log "building ($preset)"
  # ccache keys on paths relative to the checkout, so clones and build folders share its cache.
  export CCACHE_BASEDIR="$UNITY_ROOT" CCACHE_NOHASHDIR=1
  cmake --build "$dir" -j "$(nproc)" >&2 || die "build failed"
  echo "$dir"
}

# ---- a private PostgreSQL cluster on loopback --------------------------------------------------
# pg_start : initdb in a temp folder, start on a free port as a non-root user (the server refuses
# root), export UNITY_TEST_PG_URL (superuser URL for tests), UNITY_TEST_PG_CTL (a command prefix
# that runs pg_ctl on this cluster, for restart tests). pg_stop stops it and removes the folder.
PG_BIN=""
PG_DIR=""
PG_USER=""

pg_find_bin() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
  done
  return 1
}

pg_free_port() {
  local port
  for port in $(seq 55432 55532); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return 0; }
  done
  die "no free port for PostgreSQL in 55432-55532"
}

pg_as_user() {
  if [ "$(id -u)" = 0 ]; then runuser -u "$PG_USER" -- "$@"; else "$@"; fi
}

# pg_setup : finds the server binaries (PG_BIN) and the non-root user to run them as (PG_USER;
# made as a system user `unitypg` when called as root, since the server refuses root).
pg_setup() {
  PG_BIN="$(pg_find_bin)" || die "PostgreSQL server binaries not found (apt-get install postgresql-15)"
  if [ "$(id -u)" = 0 ]; then
    PG_USER=unitypg
    id "$PG_USER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_USER"
  else
    PG_USER="$(id -un)"
  fi
}

pg_start() {
  pg_setup
  PG_DIR="$(mktemp -d /tmp/unity-pg.XXXXXX)"
  chmod 755 "$PG_DIR"
  [ "$(id -u)" = 0 ] && chown "$PG_USER" "$PG_DIR"
  local port; port="$(pg_free_port)"
  pg_as_user "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
    --no-sync >"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }
  pg_as_user "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 start \
    -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$PG_DIR -c fsync=off -c max_connections=200" \
    >/dev/null || { cat "$PG_DIR/server.log" >&2; die "PostgreSQL did not start"; }
  export UNITY_TEST_PG_URL="postgresql://postgres@127.0.0.1:$port/postgres"
  if [ "$(id -u)" = 0 ]; then
    export UNITY_TEST_PG_CTL="runuser -u $PG_USER -- $PG_BIN/pg_ctl -D $PG_DIR/data"
  else
    export UNITY_TEST_PG_CTL="$PG_BIN/pg_ctl -D $PG_DIR/data"
  fi
  log "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data in $PG_DIR)"
}

pg_stop() {
  [ -n "$PG_DIR" ] || return 0
  pg_as_user "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -w -m fast stop >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
  PG_DIR=""
}
