#!/usr/bin/env bash
# Tally's dev services, all on 127.0.0.1 only, state kept in .services/ (git-ignored):
#   kafka     Apache Kafka 4.x, KRaft single node (broker+controller), jars from Maven Central
#   postgres  PostgreSQL from Debian, a project cluster (not the Debian default cluster)
#   redis     Redis from Debian, a cache: no persistence
#
# Usage: ./tally services <command> [service...]     (or: bash scripts/services.sh <command> ...)
#   up [svc...]         install what is missing, start what is not running (default: all)
#   down [svc...]       stop what `up` started; data is kept
#   restart [svc...]    down then up
#   status [svc...]     one line per service; exit 3 when one of them is not running
#   urls                the addresses the app uses, as name=value lines
#   logs <svc>          the last 50 lines of a service's log
#   reset <svc...>      stop and DELETE the service's data (fresh cluster on next up)
#   kafka-tool <alias|main-class> [args...]   run a Kafka CLI tool with the fetched jars
#   kafka-topics, kafka-console-consumer, kafka-console-producer, kafka-consumer-groups,
#   kafka-get-offsets, kafka-metadata-quorum, kafka-broker-api-versions, kafka-features,
#   kafka-cluster, kafka-storage [args...]    shorthands for kafka-tool <alias>
#
# Ports: TALLY_KAFKA_PORT (9092), TALLY_KAFKA_CONTROLLER_PORT (9093),
#        TALLY_POSTGRES_PORT (5432), TALLY_REDIS_PORT (6379).
# Kafka: TALLY_KAFKA_VERSION (4.1.1), TALLY_KAFKA_HEAP ("-Xmx1g -Xms256m").
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HELPERS="$ROOT/scripts/services"
SVC="$ROOT/.services"
ALL_SERVICES=(kafka postgres redis)
HOST=127.0.0.1

KAFKA_VERSION="${TALLY_KAFKA_VERSION:-4.1.1}"
KAFKA_PORT="${TALLY_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${TALLY_KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_HEAP="${TALLY_KAFKA_HEAP:--Xmx1g -Xms256m}"
KAFKA_DIR="$SVC/kafka"
KAFKA_LIB="$KAFKA_DIR/lib"
KAFKA_DATA="$KAFKA_DIR/data"
KAFKA_LOGS="$KAFKA_DIR/logs"
KAFKA_PID="$KAFKA_DIR/kafka.pid"
KAFKA_CONFIG="$KAFKA_DIR/server.properties"
KAFKA_START_TIMEOUT=120

POSTGRES_PORT="${TALLY_POSTGRES_PORT:-5432}"
POSTGRES_DIR="$SVC/postgres"      # always ours; the cluster itself lives in pg_home (see there)

REDIS_PORT="${TALLY_REDIS_PORT:-6379}"
REDIS_DIR="$SVC/redis"
REDIS_PID="$REDIS_DIR/redis.pid"
REDIS_LOG="$REDIS_DIR/redis.log"

# ---------------------------------------------------------------------------- helpers

say() { echo "$*" >&2; }

die() {
  echo "services: error: $*" >&2
  exit 1
}

# show_log FILE [BYTE-OFFSET]: the end of a log on stderr (only what follows the offset).
show_log() {
  local log="$1" offset="${2:-0}"
  [[ -s "$log" ]] || return 0
  if (($(stat -c %s "$log") < offset)); then offset=0; fi # rolled over
  local lines
  lines="$(tail -c "+$((offset + 1))" "$log" | tail -n 30)" || true
  [[ -n "$lines" ]] || return 0
  printf -- '---- last lines of %s ----\n%s\n----\n' "$log" "$lines" >&2
}

# die_with_log FILE MESSAGE: fail, showing the end of a service's log.
die_with_log() {
  echo "services: error: $2" >&2
  show_log "$1"
  exit 1
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

pid_alive() { [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null; }

# pid_matches PID WORD...: the process's command line contains every WORD.
pid_matches() {
  local pid="$1" cmdline
  shift
  pid_alive "$pid" || return 1
  cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  local word
  for word in "$@"; do
    [[ "$cmdline" == *"$word"* ]] || return 1
  done
}

read_file_or_empty() { cat "$1" 2>/dev/null || true; }

# wait_gone PID SECONDS: wait for a process to exit; fails when it outlives SECONDS.
wait_gone() {
  local pid="$1" deadline=$((SECONDS + $2))
  while pid_alive "$pid"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# apt_install PACKAGE...: Debian packages, without letting their scripts start the
# system-wide services (the project runs its own instances).
apt_install() {
  [[ $EUID -eq 0 ]] || die "need $* installed (apt-get install -y $*), run as root or install them first"
  local policy=/usr/sbin/policy-rc.d added_policy=""
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && added_policy=1
  fi
  local status=0
  say "services: apt-get install -y $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >&2 || {
    say "services: install failed; running apt-get update and retrying"
    DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >&2
  } || status=$?
  [[ -z "$added_policy" ]] || rm -f "$policy"
  ((status == 0)) || die "apt-get install $* failed"
}

# Serialises up/down/restart/reset across concurrent runs. Every daemon is started
# with fd 9 closed (`9>&-`) so that it does not keep the lock after we exit.
take_lock() {
  mkdir -p "$SVC"
  exec 9>"$SVC/.lock"
  flock -w 600 9 || die "another './tally services' run holds $SVC/.lock"
}

status_line() { printf '%-9s %-8s %-46s %s\n' "$1" "$2" "$3" "$4"; }

# ---------------------------------------------------------------------------- kafka

kafka_ensure_java_and_maven() {
  local missing=()
  command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null 2>&1 || missing+=(maven)
  ((${#missing[@]} == 0)) || apt_install "${missing[@]}"
  local major
  major="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
  [[ "${major%%.*}" -ge 17 ]] 2>/dev/null || die "Kafka 4 needs Java 17 or newer; 'java' is version ${major:-unknown}"
}

# The jar set: kafka_2.13 + kafka-tools + the log4j2 slf4j binding with all their runtime
# dependencies, copied by Maven into .services/kafka/lib. Refetched when the pom or the
# version changes (the stamp records both).
kafka_ensure_jars() {
  local stamp="$KAFKA_LIB/.complete" want
  want="$KAFKA_VERSION $(cksum <"$HELPERS/kafka-pom.xml")"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    return 0
  fi
  kafka_ensure_java_and_maven
  say "kafka: fetching Kafka $KAFKA_VERSION jars with mvn (first time only; ~10 s here, up to a minute on a slow network)"
  mkdir -p "$KAFKA_DIR"
  cp "$HELPERS/kafka-pom.xml" "$KAFKA_DIR/pom.xml"
  rm -rf "$KAFKA_LIB.tmp"
  if ! (cd "$KAFKA_DIR" && mvn -q -B -f pom.xml -Dkafka.version="$KAFKA_VERSION" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIB.tmp" \
    >"$KAFKA_DIR/mvn.log" 2>&1); then
    die_with_log "$KAFKA_DIR/mvn.log" "mvn could not fetch org.apache.kafka:kafka_2.13:$KAFKA_VERSION and its dependencies"
  fi
  [[ -f "$KAFKA_LIB.tmp/kafka_2.13-$KAFKA_VERSION.jar" ]] || die "mvn finished but kafka_2.13-$KAFKA_VERSION.jar is missing"
  rm -rf "$KAFKA_LIB"
  mv "$KAFKA_LIB.tmp" "$KAFKA_LIB"
  echo "$want" >"$stamp"
  say "kafka: $(find "$KAFKA_LIB" -name '*.jar' | wc -l) jars in .services/kafka/lib"
}

kafka_write_config() {
  mkdir -p "$KAFKA_DATA" "$KAFKA_LOGS"
  cat >"$KAFKA_CONFIG" <<EOF
# Written by scripts/services.sh on every start; edit the script, not this file.
# KRaft single node: broker and controller in one process, 127.0.0.1 only.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DATA

# One node: every internal topic has one replica.
num.partitions=12
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=12
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0

log.retention.hours=168
log.segment.bytes=1073741824
log.retention.check.interval.ms=300000
EOF
}

# Formats the storage once (random cluster id, --standalone controller quorum). The
# controller's address is recorded in the quorum, so later starts must use the same
# controller port; the ports used at format time are kept in formatted-ports.
kafka_ensure_formatted() {
  local ports="$KAFKA_PORT $KAFKA_CONTROLLER_PORT" recorded
  if [[ -f "$KAFKA_DATA/meta.properties" ]]; then
    recorded="$(read_file_or_empty "$KAFKA_DIR/formatted-ports")"
    if [[ -n "$recorded" && "${recorded#* }" != "$KAFKA_CONTROLLER_PORT" ]]; then
      die "kafka: the storage was formatted for controller port ${recorded#* }, not $KAFKA_CONTROLLER_PORT; use that port or './tally services reset kafka'"
    fi
    return 0
  fi
  local cluster_id
  cluster_id="$(kafka_java_tool kafka.tools.StorageTool random-uuid)" || die "kafka: kafka-storage random-uuid failed"
  say "kafka: formatting storage (cluster id $cluster_id)"
  kafka_java_tool kafka.tools.StorageTool format --standalone -t "$cluster_id" -c "$KAFKA_CONFIG" \
    >"$KAFKA_LOGS/format.log" 2>&1 || die_with_log "$KAFKA_LOGS/format.log" "kafka: kafka-storage format failed"
  echo "$ports" >"$KAFKA_DIR/formatted-ports"
}

# kafka_java_tool MAIN-CLASS ARGS...: runs a Kafka main class with the jars, tool logging.
kafka_java_tool() {
  java -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$HELPERS/kafka-tools-log4j2.properties" \
    -cp "$KAFKA_LIB/*" "$@"
}

# Prints the broker's pid when the one we started is alive.
kafka_pid() {
  local pid
  pid="$(read_file_or_empty "$KAFKA_PID")"
  pid_matches "$pid" kafka.Kafka "$KAFKA_CONFIG" && echo "$pid"
}

kafka_address() {
  local ports
  ports="$(read_file_or_empty "$KAFKA_DIR/running-ports")"
  [[ -n "$ports" ]] || ports="$KAFKA_PORT $KAFKA_CONTROLLER_PORT"
  echo "$HOST:${ports% *} (controller $HOST:${ports#* })"
}

# Launches the broker in the background (returns before it is ready; see kafka_wait).
KAFKA_LAUNCHED=""
kafka_start() {
  local pid
  if pid="$(kafka_pid)"; then
    say "kafka: already running on $(kafka_address), pid $pid"
    return 0
  fi
  local port
  for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    ! port_open "$port" || die "kafka: port $HOST:$port is already in use by another process"
  done
  kafka_ensure_jars
  kafka_write_config
  kafka_ensure_formatted
  local log="$KAFKA_LOGS/server.log"
  stat -c %s "$log" 2>/dev/null >"$KAFKA_DIR/log-offset" || echo 0 >"$KAFKA_DIR/log-offset"
  say "kafka: starting Kafka $KAFKA_VERSION on $HOST:$KAFKA_PORT (controller $KAFKA_CONTROLLER_PORT)"
  # shellcheck disable=SC2086 # KAFKA_HEAP holds several JVM options
  setsid java $KAFKA_HEAP -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
    -Dkafka.logs.dir="$KAFKA_LOGS" -Dlog4j2.configurationFile="$HELPERS/kafka-log4j2.properties" \
    -cp "$KAFKA_LIB/*" kafka.Kafka "$KAFKA_CONFIG" \
    </dev/null >"$KAFKA_LOGS/kafka.out" 2>&1 9>&- &
  echo $! >"$KAFKA_PID"
  echo "$KAFKA_PORT $KAFKA_CONTROLLER_PORT" >"$KAFKA_DIR/running-ports"
  KAFKA_LAUNCHED=1
}

# Waits until the broker that kafka_start launched logged "Kafka Server started" and
# accepts connections.
kafka_wait() {
  [[ -n "$KAFKA_LAUNCHED" ]] || return 0
  local pid log="$KAFKA_LOGS/server.log" offset deadline=$((SECONDS + KAFKA_START_TIMEOUT))
  pid="$(read_file_or_empty "$KAFKA_PID")"
  offset="$(read_file_or_empty "$KAFKA_DIR/log-offset")"
  while true; do
    if ! pid_matches "$pid" kafka.Kafka; then
      echo "services: error: kafka: the broker exited while starting" >&2
      show_log "$KAFKA_LOGS/kafka.out"
      show_log "$log" "${offset:-0}"
      exit 1
    fi
    local size
    size="$(stat -c %s "$log" 2>/dev/null || echo 0)"
    if ((size < ${offset:-0})); then offset=0; fi # the log rolled over
    # (grep reads from a process substitution: with pipefail, `tail | grep -q` can fail on SIGPIPE)
    if grep -q 'Kafka Server started' < <(tail -c "+$((${offset:-0} + 1))" "$log" 2>/dev/null) &&
      port_open "$KAFKA_PORT"; then
      say "kafka: running on $(kafka_address), pid $pid"
      return 0
    fi
    if ((SECONDS >= deadline)); then
      echo "services: error: kafka: not ready after ${KAFKA_START_TIMEOUT}s (pid $pid still running)" >&2
      show_log "$log" "${offset:-0}"
      exit 1
    fi
    sleep 0.3
  done
}

kafka_up() {
  kafka_start
  kafka_wait
}

kafka_down() {
  local pid
  if ! pid="$(kafka_pid)"; then
    say "kafka: not running"
    rm -f "$KAFKA_PID"
    return 0
  fi
  say "kafka: stopping pid $pid (SIGTERM, controlled shutdown)"
  kill -TERM "$pid"
  if ! wait_gone "$pid" 90; then
    say "kafka: still running after 90s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 10 || die "kafka: pid $pid does not exit"
  fi
  rm -f "$KAFKA_PID"
  say "kafka: stopped"
}

kafka_status() {
  local pid
  if pid="$(kafka_pid)"; then
    status_line kafka running "$(kafka_address)" "pid $pid"
  else
    status_line kafka stopped "$(kafka_address)" "-"
    return 1
  fi
}

kafka_reset() {
  kafka_down
  say "kafka: deleting $KAFKA_DATA"
  rm -rf "$KAFKA_DATA" "$KAFKA_DIR/formatted-ports"
}

# kafka_tool ALIAS|MAIN-CLASS ARGS...
kafka_tool() {
  [[ $# -ge 1 ]] || die "usage: kafka-tool <alias|main-class> [args...]"
  local name="$1" class
  shift
  case "$name" in
    kafka-topics | topics) class=org.apache.kafka.tools.TopicCommand ;;
    kafka-console-consumer | console-consumer) class=org.apache.kafka.tools.consumer.ConsoleConsumer ;;
    kafka-console-producer | console-producer) class=org.apache.kafka.tools.ConsoleProducer ;;
    kafka-consumer-groups | consumer-groups) class=org.apache.kafka.tools.consumer.group.ConsumerGroupCommand ;;
    kafka-get-offsets | get-offsets) class=org.apache.kafka.tools.GetOffsetShell ;;
    kafka-metadata-quorum | metadata-quorum) class=org.apache.kafka.tools.MetadataQuorumCommand ;;
    kafka-broker-api-versions | broker-api-versions) class=org.apache.kafka.tools.BrokerApiVersionsCommand ;;
    kafka-features | features) class=org.apache.kafka.tools.FeatureCommand ;;
    kafka-cluster | cluster) class=org.apache.kafka.tools.ClusterTool ;;
    kafka-storage | storage) class=kafka.tools.StorageTool ;;
    *.*) class="$name" ;;
    *) die "unknown Kafka tool '$name' (use an alias from --help or a fully qualified main class)" ;;
  esac
  kafka_ensure_jars
  kafka_java_tool "$class" "$@"
}

# ---------------------------------------------------------------------------- postgres

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

# ---------------------------------------------------------------------------- redis

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

# ---------------------------------------------------------------------------- commands

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }

# Sets SELECTED to the named services (default: all), in the canonical order.
select_services() {
  SELECTED=()
  local name
  for name in "$@"; do
    [[ " ${ALL_SERVICES[*]} " == *" $name "* ]] || die "unknown service '$name' (known: ${ALL_SERVICES[*]})"
  done
  for name in "${ALL_SERVICES[@]}"; do
    if [[ $# -eq 0 || " $* " == *" $name "* ]]; then SELECTED+=("$name"); fi
  done
}

selected() { [[ " ${SELECTED[*]} " == *" $1 "* ]]; }

cmd_up() {
  select_services "$@"
  take_lock
  # Kafka takes longest: launch it first, start the others meanwhile, then wait for it.
  if selected kafka; then kafka_start; fi
  if selected postgres; then postgres_up; fi
  if selected redis; then redis_up; fi
  if selected kafka; then kafka_wait; fi
}

cmd_down() {
  select_services "$@"
  take_lock
  if selected kafka; then kafka_down; fi
  if selected redis; then redis_down; fi
  if selected postgres; then postgres_down; fi
}

cmd_status() {
  select_services "$@"
  local name code=0
  for name in "${SELECTED[@]}"; do
    "${name}_status" || code=3
  done
  return "$code"
}

cmd_reset() {
  [[ $# -ge 1 ]] || die "usage: reset <service...> (deletes the service's data)"
  select_services "$@"
  take_lock
  local name
  for name in "${SELECTED[@]}"; do "${name}_reset"; done
}

cmd_urls() {
  local kports
  kports="$(read_file_or_empty "$KAFKA_DIR/running-ports")"
  kports="${kports:-$KAFKA_PORT}"
  echo "kafka=$HOST:${kports%% *}"
  echo "postgres=$(pg_url "$(pg_port)")"
  echo "redis=redis://$HOST:$(redis_port)"
}

cmd_logs() {
  [[ $# -eq 1 ]] || die "usage: logs <service>"
  local log
  case "$1" in
    kafka) log="$KAFKA_LOGS/server.log" ;;
    postgres) log="$(read_file_or_empty "$POSTGRES_DIR/home")/log" ;;
    redis) log="$REDIS_LOG" ;;
    *) die "unknown service '$1'" ;;
  esac
  [[ -f "$log" ]] || die "no log yet at $log"
  echo "==> $log" >&2
  tail -n 50 "$log"
}

main() {
  local command="${1:-status}"
  [[ $# -eq 0 ]] || shift
  case "$command" in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    restart)
      cmd_down "$@"
      cmd_up "$@"
      ;;
    status) cmd_status "$@" ;;
    reset) cmd_reset "$@" ;;
    urls) cmd_urls ;;
    logs) cmd_logs "$@" ;;
    kafka-tool) kafka_tool "$@" ;;
    kafka-*) kafka_tool "$command" "$@" ;;
    -h | --help | help) usage ;;
    *)
      usage >&2
      die "unknown command '$command'"
      ;;
  esac
}

main "$@"
