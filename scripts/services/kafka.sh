#!/usr/bin/env bash
# Apache Kafka 4.x, KRaft single node (broker+controller), jars from Maven Central.
# Sourced by scripts/services.sh; defines kafka_{start,wait,up,down,status,reset,url,log}.

KAFKA_VERSION="${TALLY_KAFKA_VERSION:-4.1.1}"
KAFKA_PORT="${TALLY_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${TALLY_KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_HEAP="${TALLY_KAFKA_HEAP:--Xmx1g -Xms256m}"
# The real path: worktrees reach .services through a symlink, and the pid check compares paths.
KAFKA_DIR="$(realpath -m "$SVC")/kafka"
KAFKA_LIB="$KAFKA_DIR/lib"
KAFKA_DATA="$KAFKA_DIR/data"
KAFKA_LOGS="$KAFKA_DIR/logs"
KAFKA_PID="$KAFKA_DIR/kafka.pid"
KAFKA_CONFIG="$KAFKA_DIR/server.properties"
KAFKA_START_TIMEOUT=120


# The jar set: kafka_2.13 + kafka-tools + the log4j2 slf4j binding with all their runtime
# dependencies, copied by Maven into .services/kafka/lib.
kafka_ensure_jars() {
  maven_fetch_jars kafka "$HELPERS/kafka-pom.xml" "$KAFKA_DIR" "$KAFKA_LIB" kafka.version "$KAFKA_VERSION" "kafka_2.13-$KAFKA_VERSION.jar"
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
  say "kafka: starting Kafka $KAFKA_VERSION on $HOST:$KAFKA_PORT (controller $KAFKA_CONTROLLER_PORT)"
  # shellcheck disable=SC2086 # KAFKA_HEAP holds several JVM options
  jvm_launch "$KAFKA_PID" "$KAFKA_LOGS/server.log" "$KAFKA_DIR/log-offset" "$KAFKA_LOGS/kafka.out" \
    $KAFKA_HEAP -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
    -Dkafka.logs.dir="$KAFKA_LOGS" -Dlog4j2.configurationFile="$HELPERS/kafka-log4j2.properties" \
    -cp "$KAFKA_LIB/*" kafka.Kafka "$KAFKA_CONFIG"
  echo "$KAFKA_PORT $KAFKA_CONTROLLER_PORT" >"$KAFKA_DIR/running-ports"
  KAFKA_LAUNCHED=1
}

# The broker kafka_start launched logged "Kafka Server started" and accepts connections.
kafka_ready() {
  grep -q 'Kafka Server started' < <(log_since "$KAFKA_LOGS/server.log" "$KAFKA_DIR/log-offset") && port_open "$KAFKA_PORT"
}

kafka_wait() {
  [[ -n "$KAFKA_LAUNCHED" ]] || return 0
  jvm_wait kafka "$KAFKA_PID" kafka.Kafka "$KAFKA_LOGS/server.log" "$KAFKA_DIR/log-offset" "$KAFKA_LOGS/kafka.out" "$KAFKA_START_TIMEOUT" kafka_ready
  say "kafka: running on $(kafka_address), pid $(read_file_or_empty "$KAFKA_PID")"
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
  stop_process kafka "$pid" 90 "SIGTERM, controlled shutdown"
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

kafka_url() {
  local kports
  kports="$(read_file_or_empty "$KAFKA_DIR/running-ports")"
  kports="${kports:-$KAFKA_PORT}"
  echo "$HOST:${kports%% *}"
}

kafka_log() { echo "$KAFKA_LOGS/server.log"; }
