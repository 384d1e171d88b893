#!/usr/bin/env bash
# moto_server from PyPI (`moto[server]`): an emulator of DynamoDB and DynamoDB Streams for the
# tests and local use (production is AWS). Installed into a project-local virtual environment
# under .services/dynamodb/venv and run by moto-serve.py (one request at a time, see there).
# It keeps its data in memory only: stopping it loses the tables.
# Sourced by scripts/services.sh; defines dynamodb_{start,wait,up,down,status,reset,url,log}.

DYNAMODB_PORT="${TALLY_DYNAMODB_PORT:-8000}"
DYNAMODB_DIR="$SVC/dynamodb"
DYNAMODB_VENV="$DYNAMODB_DIR/venv"
DYNAMODB_PID="$DYNAMODB_DIR/moto.pid"
DYNAMODB_LOG="$DYNAMODB_DIR/moto.log"
DYNAMODB_MOTO_VERSION="${TALLY_MOTO_VERSION:-5.2.1}"

dynamodb_pid() {
  local pid
  pid="$(read_file_or_empty "$DYNAMODB_PID")"
  pid_matches "$pid" moto-serve.py && echo "$pid"
}

dynamodb_port() {
  local port
  port="$(read_file_or_empty "$DYNAMODB_DIR/port")"
  echo "${port:-$DYNAMODB_PORT}"
}

# Creates the virtual environment and installs moto[server] into it, once.
dynamodb_install() {
  if [[ -x "$DYNAMODB_VENV/bin/moto_server" ]] &&
    [[ "$(read_file_or_empty "$DYNAMODB_DIR/installed")" == "$DYNAMODB_MOTO_VERSION" ]]; then
    return 0
  fi
  command -v python3 >/dev/null 2>&1 || apt_install python3
  if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
    apt_install python3-venv
  fi
  mkdir -p "$DYNAMODB_DIR"
  say "dynamodb: installing moto[server]==$DYNAMODB_MOTO_VERSION from PyPI into $DYNAMODB_VENV"
  rm -rf "$DYNAMODB_VENV"
  python3 -m venv "$DYNAMODB_VENV" >&2 || die "dynamodb: python3 -m venv failed"
  "$DYNAMODB_VENV/bin/pip" install -q --disable-pip-version-check "moto[server]==$DYNAMODB_MOTO_VERSION" >&2 ||
    die "dynamodb: pip install moto[server]==$DYNAMODB_MOTO_VERSION failed"
  echo "$DYNAMODB_MOTO_VERSION" >"$DYNAMODB_DIR/installed"
}

dynamodb_start() {
  local pid
  if pid="$(dynamodb_pid)"; then
    say "dynamodb: already running on http://$HOST:$(dynamodb_port), pid $pid"
    return 0
  fi
  ! port_open "$DYNAMODB_PORT" || die "dynamodb: port $HOST:$DYNAMODB_PORT is already in use by another process"
  dynamodb_install
  say "dynamodb: starting moto_server $DYNAMODB_MOTO_VERSION on $HOST:$DYNAMODB_PORT"
  # moto-serve.py: moto_server serving one request at a time (see the file for why).
  MOTO_PORT="$DYNAMODB_PORT" nohup "$DYNAMODB_VENV/bin/python" "$HELPERS/moto-serve.py" "$HOST" "$DYNAMODB_PORT" >"$DYNAMODB_LOG" 2>&1 9>&- </dev/null &
  echo $! >"$DYNAMODB_PID"
  echo "$DYNAMODB_PORT" >"$DYNAMODB_DIR/port"
}

dynamodb_wait() {
  local deadline=$((SECONDS + 30))
  until port_open "$(dynamodb_port)"; do
    dynamodb_pid >/dev/null || die_with_log "$DYNAMODB_LOG" "dynamodb: moto_server exited"
    ((SECONDS < deadline)) || die_with_log "$DYNAMODB_LOG" "dynamodb: moto_server not listening after 30s"
    sleep 0.1
  done
  say "dynamodb: running on http://$HOST:$(dynamodb_port), pid $(dynamodb_pid || echo '?')"
}

dynamodb_up() {
  dynamodb_start
  dynamodb_wait
}

dynamodb_down() {
  local pid
  if ! pid="$(dynamodb_pid)"; then
    say "dynamodb: not running"
    return 0
  fi
  say "dynamodb: stopping pid $pid (its tables are in memory and are lost)"
  kill -CONT "$pid" 2>/dev/null || true
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_gone "$pid" 15; then
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 5 || die "dynamodb: pid $pid does not exit"
  fi
  say "dynamodb: stopped"
}

dynamodb_status() {
  local pid
  if pid="$(dynamodb_pid)"; then
    status_line dynamodb running "http://$HOST:$(dynamodb_port)" "pid $pid"
  else
    status_line dynamodb stopped "http://$HOST:$DYNAMODB_PORT" "-"
    return 1
  fi
}

# The data lives in memory: a reset is a restart.
dynamodb_reset() { dynamodb_down; }
dynamodb_url() { echo "http://$HOST:$(dynamodb_port)"; }
dynamodb_log() { echo "$DYNAMODB_LOG"; }
