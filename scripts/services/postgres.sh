#!/usr/bin/env bash
# PostgreSQL from Debian, a project cluster (not the Debian default cluster).
# Sourced by scripts/services.sh; defines postgres_{start,wait,up,down,status,reset,url,log}.

POSTGRES_PORT="${TALLY_POSTGRES_PORT:-5432}"
POSTGRES_DIR="$SVC/postgres"      # always ours; the cluster itself lives in pg_home (see there)


# The directory of the newest installed server binaries (Debian keeps them off PATH).
pg_bindir() {
  local dir
  dir="$(find /usr/lib/postgresql -maxdepth 3 -path '*/bin/initdb' 2>/dev/null | sort -V | tail -n 1)"
  if [[ -n "$dir" ]]; then
    dirname "$dir"
  elif command -v initdb >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
  fi
}

pg_ensure_installed() {
  if [[ -z "$(pg_bindir)" ]]; then
    apt_install postgresql
    [[ -n "$(pg_bindir)" ]] || die "postgres: initdb still missing after apt-get install postgresql"
  fi
}

# Runs a command as the postgres OS user when we are root (initdb and pg_ctl refuse root).
as_postgres() {
  if [[ $EUID -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# Where the cluster lives: .services/postgres, or, when the postgres OS user cannot reach
# that folder (a checkout under a private home), a folder of its own under
# /var/lib/postgresql, recorded in .services/postgres/home.
pg_home() {
  local recorded="$POSTGRES_DIR/home"
  if [[ -f "$recorded" ]]; then
    cat "$recorded"
    return 0
  fi
  mkdir -p "$POSTGRES_DIR"
  local home="$POSTGRES_DIR"
  if [[ $EUID -eq 0 ]]; then
    chown postgres:postgres "$POSTGRES_DIR"
    if ! runuser -u postgres -- test -w "$POSTGRES_DIR" -a -x "$POSTGRES_DIR"; then
      home="/var/lib/postgresql/tally-$(printf %s "$ROOT" | cksum | cut -d' ' -f1)"
      say "postgres: user postgres cannot reach $POSTGRES_DIR; keeping the cluster in $home"
      mkdir -p "$home"
      chown postgres:postgres "$home"
    fi
  fi
  echo "$home" >"$recorded"
  echo "$home"
}

pg_socket_dir() {
  local home="$1"
  # A unix socket path must stay under ~107 bytes.
  if ((${#home} + 20 < 100)); then echo "$home"; else echo /tmp; fi
}

pg_ensure_cluster() {
  local home="$1" bin
  bin="$(pg_bindir)"
  [[ -f "$home/data/PG_VERSION" ]] && return 0
  say "postgres: creating the cluster in $home/data (initdb)"
  as_postgres "$bin/initdb" -D "$home/data" -U postgres -E UTF8 --no-locale \
    --auth-local=trust --auth-host=scram-sha-256 >"$home/initdb.log" 2>&1 ||
    die_with_log "$home/initdb.log" "postgres: initdb failed"
  echo "include 'tally.conf'    # Tally's settings, written by scripts/services.sh" >>"$home/data/postgresql.conf"
}

# Rewritten on every start, so port changes take effect.
pg_write_config() {
  local home="$1" socket_dir
  socket_dir="$(pg_socket_dir "$home")"
  cat >"$home/data/tally.conf" <<EOF
# Written by scripts/services.sh on every start; edit the script, not this file.
listen_addresses = '$HOST'
port = $POSTGRES_PORT
unix_socket_directories = '$socket_dir'
unix_socket_permissions = 0770
max_connections = 200
shared_buffers = 256MB
wal_level = logical
max_wal_senders = 20
max_replication_slots = 20
fsync = on
synchronous_commit = on
password_encryption = scram-sha-256
EOF
  cat >"$home/data/pg_hba.conf" <<'EOF'
# Written by scripts/services.sh on every start; edit the script, not this file.
# TYPE  DATABASE     USER  ADDRESS        METHOD
local   all          all                  trust
host    all          all   127.0.0.1/32   scram-sha-256
host    replication  all   127.0.0.1/32   scram-sha-256
EOF
  if [[ $EUID -eq 0 ]]; then chown postgres:postgres "$home/data/tally.conf" "$home/data/pg_hba.conf"; fi
}

# Prints the postmaster's pid when our cluster runs.
pg_pid() {
  local home pid
  home="$(read_file_or_empty "$POSTGRES_DIR/home")"
  [[ -n "$home" && -f "$home/data/postmaster.pid" ]] || return 1
  pid="$(head -n 1 "$home/data/postmaster.pid" 2>/dev/null)"
  pid_matches "$pid" postgres && echo "$pid"
}

pg_port() {
  local home
  home="$(read_file_or_empty "$POSTGRES_DIR/home")"
  sed -n 4p "$home/data/postmaster.pid" 2>/dev/null | grep . || echo "$POSTGRES_PORT"
}

pg_url() { echo "postgres://tally:tally@$HOST:$1/tally"; }

# Role tally (password tally, superuser, replication) and database tally; idempotent.
pg_ensure_roles() {
  local home="$1" bin
  bin="$(pg_bindir)"
  "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$(pg_socket_dir "$home")" -p "$POSTGRES_PORT" -U postgres -d postgres \
    >"$home/bootstrap.log" 2>&1 <<'EOF' || die_with_log "$home/bootstrap.log" "postgres: could not create role/database tally"
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tally') THEN
    CREATE ROLE tally;
  END IF;
END
$$;
ALTER ROLE tally WITH LOGIN SUPERUSER REPLICATION PASSWORD 'tally';
SELECT 'CREATE DATABASE tally OWNER tally' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'tally')
\gexec
EOF
}

postgres_up() {
  local pid
  if pid="$(pg_pid)"; then
    say "postgres: already running on $(pg_url "$(pg_port)"), pid $pid"
    return 0
  fi
  ! port_open "$POSTGRES_PORT" || die "postgres: port $HOST:$POSTGRES_PORT is already in use by another process"
  pg_ensure_installed
  local home bin
  home="$(pg_home)"
  bin="$(pg_bindir)"
  pg_ensure_cluster "$home"
  pg_write_config "$home"
  say "postgres: starting $("$bin/postgres" --version | sed 's/^postgres (PostgreSQL) /PostgreSQL /') on $HOST:$POSTGRES_PORT"
  if [[ $EUID -eq 0 ]]; then touch "$home/log" && chown postgres:postgres "$home/log"; fi
  as_postgres "$bin/pg_ctl" -D "$home/data" -l "$home/log" -w -t 60 start >/dev/null 9>&- ||
    die_with_log "$home/log" "postgres: pg_ctl start failed"
  pg_ensure_roles "$home"
  say "postgres: running on $(pg_url "$POSTGRES_PORT"), pid $(pg_pid || echo '?')"
}

postgres_down() {
  local pid home
  if ! pid="$(pg_pid)"; then
    say "postgres: not running"
    return 0
  fi
  home="$(pg_home)"
  say "postgres: stopping pid $pid (pg_ctl stop -m fast)"
  as_postgres "$(pg_bindir)/pg_ctl" -D "$home/data" -m fast -w -t 60 stop >/dev/null ||
    die_with_log "$home/log" "postgres: pg_ctl stop failed"
  say "postgres: stopped"
}

postgres_status() {
  local pid
  if pid="$(pg_pid)"; then
    status_line postgres running "$(pg_url "$(pg_port)")" "pid $pid"
  else
    status_line postgres stopped "$(pg_url "$POSTGRES_PORT")" "-"
    return 1
  fi
}

postgres_reset() {
  postgres_down
  local home
  home="$(read_file_or_empty "$POSTGRES_DIR/home")"
  [[ -n "$home" ]] || return 0
  say "postgres: deleting $home/data"
  rm -rf "$home/data"
}

postgres_start() { postgres_up; }
postgres_wait() { :; }
postgres_url() { pg_url "$(pg_port)"; }
postgres_log() { echo "$(read_file_or_empty "$POSTGRES_DIR/home")/log"; }
