#!/usr/bin/env bash
# kafka3: a 3-node Apache Kafka cluster (KRaft; each node broker + controller, static quorum),
# for the tests of replication and leader failover. Not started by a bare `up`: name it.
# Uses the jars of the kafka service. Sourced by scripts/services.sh; defines
# kafka3_{start,wait,up,down,status,reset,url,log} and kafka3_node_pid.
#
# Ports: brokers TALLY_KAFKA3_PORT (9192) + 0..2, controllers TALLY_KAFKA3_CONTROLLER_PORT (9292) + 0..2.

KAFKA3_PORT="${TALLY_KAFKA3_PORT:-9192}"
KAFKA3_CONTROLLER_PORT="${TALLY_KAFKA3_CONTROLLER_PORT:-9292}"
KAFKA3_HEAP="${TALLY_KAFKA3_HEAP:--Xmx384m -Xms128m}"
KAFKA3_DIR="$SVC/kafka3"
KAFKA3_NODES=(1 2 3)
KAFKA3_LAUNCHED=()

kafka3_node_dir() { echo "$KAFKA3_DIR/node$1"; }
kafka3_broker_port() { echo $((KAFKA3_PORT + $1 - 1)); }
kafka3_controller_port() { echo $((KAFKA3_CONTROLLER_PORT + $1 - 1)); }

kafka3_voters() {
  local node voters=()
  for node in "${KAFKA3_NODES[@]}"; do voters+=("$node@$HOST:$(kafka3_controller_port "$node")"); done
  local IFS=,
  echo "${voters[*]}"
}

kafka3_write_config() {
  local node="$1" dir
  dir="$(kafka3_node_dir "$node")"
  mkdir -p "$dir/data" "$dir/logs"
  cat >"$dir/server.properties" <<EOF
# Written by scripts/services/kafka3.sh on every start; edit the script, not this file.
process.roles=broker,controller
node.id=$node
controller.quorum.voters=$(kafka3_voters)
listeners=PLAINTEXT://$HOST:$(kafka3_broker_port "$node"),CONTROLLER://$HOST:$(kafka3_controller_port "$node")
advertised.listeners=PLAINTEXT://$HOST:$(kafka3_broker_port "$node")
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data

# Three replicas, two in sync for an acks=all write to succeed: any one node may die.
default.replication.factor=3
min.insync.replicas=2
offsets.topic.replication.factor=3
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
share.coordinator.state.topic.replication.factor=3
share.coordinator.state.topic.min.isr=2
group.initial.rebalance.delay.ms=0
unclean.leader.election.enable=false
log.segment.bytes=268435456
EOF
}

kafka3_node_pid() {
  local pid dir
  dir="$(kafka3_node_dir "$1")"
  pid="$(read_file_or_empty "$dir/kafka.pid")"
  pid_matches "$pid" kafka.Kafka "$dir/server.properties" && echo "$pid"
}

# Formats every node's storage once, with one cluster id and the static quorum.
kafka3_ensure_formatted() {
  local node dir cluster_id
  cluster_id="$(read_file_or_empty "$KAFKA3_DIR/cluster-id")"
  if [[ -z "$cluster_id" ]]; then
    cluster_id="$(kafka_java_tool kafka.tools.StorageTool random-uuid)" || die "kafka3: kafka-storage random-uuid failed"
    echo "$cluster_id" >"$KAFKA3_DIR/cluster-id"
  fi
  for node in "${KAFKA3_NODES[@]}"; do
    dir="$(kafka3_node_dir "$node")"
    [[ -f "$dir/data/meta.properties" ]] && continue
    kafka_java_tool kafka.tools.StorageTool format -t "$cluster_id" -c "$dir/server.properties" \
      >"$dir/logs/format.log" 2>&1 || die_with_log "$dir/logs/format.log" "kafka3: formatting node $node failed"
  done
}

# kafka3_start_node N: launches one node in the background (used by the tests to restart a killed one).
kafka3_start_node() {
  local node="$1" dir pid
  dir="$(kafka3_node_dir "$node")"
  if pid="$(kafka3_node_pid "$node")"; then return 0; fi
  ! port_open "$(kafka3_broker_port "$node")" || die "kafka3: port $HOST:$(kafka3_broker_port "$node") is already in use by another process"
  # shellcheck disable=SC2086 # KAFKA3_HEAP holds several JVM options
  jvm_launch "$dir/kafka.pid" "$dir/logs/server.log" "$dir/log-offset" "$dir/logs/kafka.out" \
    $KAFKA3_HEAP -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dkafka.logs.dir="$dir/logs" -Dlog4j2.configurationFile="$HELPERS/kafka-log4j2.properties" \
    -cp "$KAFKA_LIB/*" kafka.Kafka "$dir/server.properties"
  KAFKA3_LAUNCHED+=("$node")
}

kafka3_start() {
  kafka_ensure_jars
  mkdir -p "$KAFKA3_DIR"
  local node
  for node in "${KAFKA3_NODES[@]}"; do kafka3_write_config "$node"; done
  kafka3_ensure_formatted
  say "kafka3: starting a 3-node cluster on $(kafka3_url)"
  for node in "${KAFKA3_NODES[@]}"; do kafka3_start_node "$node"; done
}

kafka3_wait() {
  local node dir pid offset deadline=$((SECONDS + KAFKA_START_TIMEOUT))
  for node in "${KAFKA3_LAUNCHED[@]}"; do
    dir="$(kafka3_node_dir "$node")"
    pid="$(read_file_or_empty "$dir/kafka.pid")"
    offset="$(read_file_or_empty "$dir/log-offset")"
    until grep -q 'Kafka Server started' < <(tail -c "+$((${offset:-0} + 1))" "$dir/logs/server.log" 2>/dev/null) && port_open "$(kafka3_broker_port "$node")"; do
      if ! pid_matches "$pid" kafka.Kafka; then
        show_log "$dir/logs/kafka.out"
        die_with_log "$dir/logs/server.log" "kafka3: node $node exited while starting"
      fi
      ((SECONDS < deadline)) || die_with_log "$dir/logs/server.log" "kafka3: node $node not ready after ${KAFKA_START_TIMEOUT}s"
      sleep 0.3
    done
  done
  KAFKA3_LAUNCHED=()
  say "kafka3: running on $(kafka3_url)"
}

kafka3_up() {
  kafka3_start
  kafka3_wait
}

kafka3_down() {
  local node pid
  for node in "${KAFKA3_NODES[@]}"; do
    if pid="$(kafka3_node_pid "$node")"; then
      kill -TERM "$pid"
      wait_gone "$pid" 60 || kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  say "kafka3: stopped"
}

kafka3_status() {
  local node pid running=0 pids=()
  for node in "${KAFKA3_NODES[@]}"; do
    if pid="$(kafka3_node_pid "$node")"; then
      running=$((running + 1))
      pids+=("$pid")
    fi
  done
  if ((running == ${#KAFKA3_NODES[@]})); then
    status_line kafka3 running "$(kafka3_url)" "pids ${pids[*]}"
  else
    status_line kafka3 stopped "$(kafka3_url)" "$running of ${#KAFKA3_NODES[@]} nodes"
    return 1
  fi
}

kafka3_reset() {
  kafka3_down
  say "kafka3: deleting $KAFKA3_DIR"
  rm -rf "$KAFKA3_DIR"
}

kafka3_url() {
  local node urls=()
  for node in "${KAFKA3_NODES[@]}"; do urls+=("$HOST:$(kafka3_broker_port "$node")"); done
  local IFS=,
  echo "${urls[*]}"
}

kafka3_log() { echo "$(kafka3_node_dir 1)/logs/server.log"; }
