#!/usr/bin/env bash
# Redis from Debian, a cache: no persistence.
# Sourced by scripts/services.sh; defines redis_{start,wait,up,down,status,reset,url,log}.

REDIS_PORT="${TALLY_REDIS_PORT:-6379}"
REDIS_DIR="$SVC/redis"
REDIS_PID="$REDIS_DIR/redis.pid"
REDIS_LOG="$REDIS_DIR/redis.log"


redis_pid() {
  local pid
  pid="$(read_file_or_empty "$REDIS_PID")"
  pid_matches "$pid" redis-server && echo "$pid"
}

redis_port() {
  local port
  port="$(read_file_or_empty "$REDIS_DIR/port")"
  echo "${port:-$REDIS_PORT}"
}

redis_up() {
  local pid
  if pid="$(redis_pid)"; then
    say "redis: already running on redis://$HOST:$(redis_port), pid $pid"
    return 0
  fi
  ! port_open "$REDIS_PORT" || die "redis: port $HOST:$REDIS_PORT is already in use by another process"
  if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
    apt_install redis-server
  fi
  mkdir -p "$REDIS_DIR"
  say "redis: starting $(redis-server --version | cut -d' ' -f1-3) on $HOST:$REDIS_PORT"
  redis-server --daemonize yes --bind "$HOST" --port "$REDIS_PORT" --protected-mode yes \
    --pidfile "$REDIS_PID" --logfile "$REDIS_LOG" --dir "$REDIS_DIR" \
    --save '' --appendonly no 9>&- || die_with_log "$REDIS_LOG" "redis: redis-server failed to start"
  echo "$REDIS_PORT" >"$REDIS_DIR/port"
  local deadline=$((SECONDS + 30))
  until [[ "$(redis-cli -h "$HOST" -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]; do
    ((SECONDS < deadline)) || die_with_log "$REDIS_LOG" "redis: no PONG after 30s"
    sleep 0.1
  done
  say "redis: running on redis://$HOST:$REDIS_PORT, pid $(redis_pid || echo '?')"
}

redis_down() {
  local pid
  if ! pid="$(redis_pid)"; then
    say "redis: not running"
    return 0
  fi
  say "redis: stopping pid $pid (shutdown nosave)"
  redis-cli -h "$HOST" -p "$(redis_port)" shutdown nosave >/dev/null 2>&1 || true
  if ! wait_gone "$pid" 15; then
    kill -TERM "$pid" 2>/dev/null || true
    wait_gone "$pid" 15 || die "redis: pid $pid does not exit"
  fi
  say "redis: stopped"
}

redis_status() {
  local pid
  if pid="$(redis_pid)"; then
    status_line redis running "redis://$HOST:$(redis_port)" "pid $pid"
  else
    status_line redis stopped "redis://$HOST:$REDIS_PORT" "-"
    return 1
  fi
}

redis_reset() {
  redis_down
  rm -f "$REDIS_DIR/dump.rdb"
}

redis_start() { redis_up; }
redis_wait() { :; }
redis_url() { echo "redis://$HOST:$(redis_port)"; }
redis_log() { echo "$REDIS_LOG"; }
