# Sourced by .ci/run: a throw-away PostgreSQL 15 cluster for the conformance
# suites of the PostgreSQL stores. pg_up installs postgresql-15 when missing,
# creates a cluster in a temporary folder (as the postgres user when run as
# root, since initdb refuses root; as the current user otherwise), starts it
# on a free loopback port with durability off (tests only), creates the
# riskmine role and database and exports RISKMINE_TEST_POSTGRES. pg_down
# stops the cluster and removes the folder; .ci/run calls it from its EXIT
# trap.

PG_BIN=/usr/lib/postgresql/15/bin

pg_up() {
  if [ ! -x "$PG_BIN/pg_ctl" ]; then
    local sudo=""
    if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null 2>&1; then sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql-15 >/dev/null
  fi
  PG_DIR="$(mktemp -d)"
  PG_AS=()
  if [ "$(id -u)" = "0" ]; then
    chown postgres: "$PG_DIR"
    PG_AS=(runuser -u postgres --)
  fi
  # The first free port from 55432 up, so a cluster already running here
  # (another checkout's CI) is left alone.
  PG_PORT=55432
  while (exec 3<>"/dev/tcp/127.0.0.1/$PG_PORT") 2>/dev/null; do PG_PORT=$((PG_PORT + 1)); done
  "${PG_AS[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -s start -o \
    "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
  "${PG_AS[@]}" "$PG_BIN/psql" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE riskmine LOGIN" -c "CREATE DATABASE riskmine_test OWNER riskmine" >/dev/null
  export RISKMINE_TEST_POSTGRES="postgres://riskmine@127.0.0.1:$PG_PORT/riskmine_test?sslmode=disable"
}

pg_down() {
  [ -n "${PG_DIR:-}" ] || return 0
  "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -s stop || true
  rm -rf "$PG_DIR"
  PG_DIR=""
}
