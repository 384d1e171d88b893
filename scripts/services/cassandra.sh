#!/usr/bin/env bash
# Apache Cassandra 5.0.x, one node, jars from Maven Central (org.apache.cassandra:cassandra-all).
# Sourced by scripts/services.sh; defines cassandra_{start,wait,up,down,status,reset,url,log}.

CASSANDRA_VERSION="${TALLY_CASSANDRA_VERSION:-5.0.9}"
CASSANDRA_PORT="${TALLY_CASSANDRA_PORT:-9042}"
CASSANDRA_STORAGE_PORT="${TALLY_CASSANDRA_STORAGE_PORT:-7000}"
CASSANDRA_HEAP="${TALLY_CASSANDRA_HEAP:--Xms512m -Xmx512m}"
# The real path: worktrees reach .services through a symlink, and the pid check compares paths.
CASSANDRA_DIR="$(realpath -m "$SVC")/cassandra"
CASSANDRA_LIB="$CASSANDRA_DIR/lib"
CASSANDRA_DATA="$CASSANDRA_DIR/data"
CASSANDRA_LOGS="$CASSANDRA_DIR/logs"
CASSANDRA_PID="$CASSANDRA_DIR/cassandra.pid"
CASSANDRA_CONFIG="$CASSANDRA_DIR/cassandra.yaml"
CASSANDRA_START_TIMEOUT=180

# The jar set: cassandra-all and its runtime dependencies (logback included), copied by Maven
# into .services/cassandra/lib.
cassandra_ensure_jars() {
  maven_fetch_jars cassandra "$HELPERS/cassandra-pom.xml" "$CASSANDRA_DIR" "$CASSANDRA_LIB" cassandra.version "$CASSANDRA_VERSION" "cassandra-all-$CASSANDRA_VERSION.jar"
}

# A small single node: 127.0.0.1 only, no auth, small memtables and caches (the machine is shared).
cassandra_write_config() {
  mkdir -p "$CASSANDRA_DATA" "$CASSANDRA_LOGS"
  cat >"$CASSANDRA_CONFIG" <<YAML
# Written by scripts/services.sh on every start; edit the script, not this file.
cluster_name: tally
num_tokens: 16
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
endpoint_snitch: SimpleSnitch
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "$HOST:$CASSANDRA_STORAGE_PORT"
listen_address: $HOST
rpc_address: $HOST
storage_port: $CASSANDRA_STORAGE_PORT
native_transport_port: $CASSANDRA_PORT
start_native_transport: true
authenticator: AllowAllAuthenticator
authorizer: AllowAllAuthorizer
data_file_directories: [$CASSANDRA_DATA/data]
commitlog_directory: $CASSANDRA_DATA/commitlog
saved_caches_directory: $CASSANDRA_DATA/saved_caches
hints_directory: $CASSANDRA_DATA/hints
cdc_raw_directory: $CASSANDRA_DATA/cdc_raw
# A write is acknowledged only once its commit-log entry is on disk (concurrent writes share
# the fsync), so a kill -9 or a power loss never takes back an acknowledged write.
commitlog_sync: batch
commitlog_segment_size: 32MiB
memtable_heap_space: 64MiB
memtable_offheap_space: 64MiB
key_cache_size: 16MiB
row_cache_size: 0MiB
counter_cache_size: 8MiB
concurrent_reads: 32
concurrent_writes: 32
concurrent_counter_writes: 8
compaction_throughput: 64MiB/s
disk_access_mode: mmap_index_only
auto_snapshot: false
snapshot_before_compaction: false
write_request_timeout: 5000ms
read_request_timeout: 5000ms
cas_contention_timeout: 2000ms
YAML
  cat >"$CASSANDRA_DIR/logback.xml" <<XML
<configuration scan="false">
  <appender name="FILE" class="ch.qos.logback.core.FileAppender">
    <file>$CASSANDRA_LOGS/system.log</file>
    <encoder><pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="FILE"/></root>
  <logger name="org.apache.cassandra" level="INFO"/>
  <logger name="com.thinkaurelius.thrift" level="ERROR"/>
</configuration>
XML
}

# The --add-exports/--add-opens list of Cassandra's conf/jvm17-server.options.
CASSANDRA_JPMS=(
  -Djdk.attach.allowAttachSelf=true
  --add-exports java.base/jdk.internal.misc=ALL-UNNAMED
  --add-exports java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED
  --add-exports java.rmi/sun.rmi.registry=ALL-UNNAMED
  --add-exports java.rmi/sun.rmi.server=ALL-UNNAMED
  --add-exports java.sql/java.sql=ALL-UNNAMED
  --add-exports java.base/java.lang.ref=ALL-UNNAMED
  --add-exports jdk.unsupported/sun.misc=ALL-UNNAMED
  --add-exports jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED
  --add-exports jdk.attach/sun.tools.attach=ALL-UNNAMED
  --add-opens java.base/java.lang.module=ALL-UNNAMED
  --add-opens java.base/jdk.internal.loader=ALL-UNNAMED
  --add-opens java.base/jdk.internal.ref=ALL-UNNAMED
  --add-opens java.base/jdk.internal.reflect=ALL-UNNAMED
  --add-opens java.base/jdk.internal.math=ALL-UNNAMED
  --add-opens java.base/jdk.internal.module=ALL-UNNAMED
  --add-opens java.base/jdk.internal.util.jar=ALL-UNNAMED
  --add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED
  --add-opens java.base/sun.nio.ch=ALL-UNNAMED
  --add-opens java.base/java.io=ALL-UNNAMED
  --add-opens java.base/java.lang.reflect=ALL-UNNAMED
  --add-opens jdk.compiler/com.sun.tools.javac=ALL-UNNAMED
  --add-opens java.base/java.lang=ALL-UNNAMED
  --add-opens java.base/java.util=ALL-UNNAMED
)

# Prints the node's pid when the one we started is alive.
cassandra_pid() {
  local pid
  pid="$(read_file_or_empty "$CASSANDRA_PID")"
  pid_matches "$pid" CassandraDaemon "$CASSANDRA_CONFIG" && echo "$pid"
}

cassandra_port() {
  local port
  port="$(read_file_or_empty "$CASSANDRA_DIR/running-port")"
  echo "${port:-$CASSANDRA_PORT}"
}

# Launches the node in the background (returns before it is ready; see cassandra_wait). After a
# kill -9 the next start replays the commit log.
CASSANDRA_LAUNCHED=""
cassandra_start() {
  local pid
  if pid="$(cassandra_pid)"; then
    say "cassandra: already running on $HOST:$(cassandra_port), pid $pid"
    return 0
  fi
  local port
  for port in "$CASSANDRA_PORT" "$CASSANDRA_STORAGE_PORT"; do
    ! port_open "$port" || die "cassandra: port $HOST:$port is already in use by another process"
  done
  cassandra_ensure_jars
  cassandra_write_config
  say "cassandra: starting Cassandra $CASSANDRA_VERSION on $HOST:$CASSANDRA_PORT"
  # shellcheck disable=SC2086 # CASSANDRA_HEAP holds several JVM options
  jvm_launch "$CASSANDRA_PID" "$CASSANDRA_LOGS/system.log" "$CASSANDRA_DIR/log-offset" "$CASSANDRA_LOGS/cassandra.out" \
    $CASSANDRA_HEAP -Xss256k -XX:+UseG1GC -XX:+ParallelRefProcEnabled \
    -XX:MaxTenuringThreshold=1 -XX:G1HeapRegionSize=4m -XX:MaxGCPauseMillis=300 \
    -XX:MaxDirectMemorySize=256m \
    "${CASSANDRA_JPMS[@]}" \
    -Dio.netty.tryReflectionSetAccessible=true -Dio.netty.allocator.useCacheForAllThreads=true \
    -Dio.netty.allocator.maxOrder=11 -Djava.net.preferIPv4Stack=true -Djava.awt.headless=true \
    -Dcassandra.config="file://$CASSANDRA_CONFIG" -Dcassandra.storagedir="$CASSANDRA_DATA" \
    -Dcassandra.logdir="$CASSANDRA_LOGS" -Dlogback.configurationFile="$CASSANDRA_DIR/logback.xml" \
    -Dcassandra.jmx.local.port=7199 -Dcassandra-foreground=yes -Dcassandra.skip_wait_for_gossip_to_settle=0 \
    -Dcassandra.initial_token_allocation_wait=0 \
    -cp "$CASSANDRA_LIB/*" org.apache.cassandra.service.CassandraDaemon
  echo "$CASSANDRA_PORT" >"$CASSANDRA_DIR/running-port"
  CASSANDRA_LAUNCHED=1
}

# A real CQL round trip: an OPTIONS request (protocol v4) must be answered by SUPPORTED (0x06).
cassandra_cql_ping() {
  local reply
  reply="$(
    exec 3<>"/dev/tcp/$HOST/$1" || exit 1
    printf '\x04\x00\x00\x01\x05\x00\x00\x00\x00' >&3
    timeout 2 head -c 5 <&3 | od -An -tx1 | tr -d ' \n'
  )" 2>/dev/null || return 1
  [[ "$reply" == 8400000106 ]]
}

cassandra_ready() { port_open "$CASSANDRA_PORT" && cassandra_cql_ping "$CASSANDRA_PORT"; }

# Waits until the node that cassandra_start launched answers CQL.
cassandra_wait() {
  [[ -n "$CASSANDRA_LAUNCHED" ]] || return 0
  jvm_wait cassandra "$CASSANDRA_PID" CassandraDaemon "$CASSANDRA_LOGS/system.log" "$CASSANDRA_DIR/log-offset" "$CASSANDRA_LOGS/cassandra.out" "$CASSANDRA_START_TIMEOUT" cassandra_ready
  say "cassandra: running on $HOST:$CASSANDRA_PORT, pid $(read_file_or_empty "$CASSANDRA_PID")"
}

cassandra_up() {
  cassandra_start
  cassandra_wait
}

cassandra_down() {
  local pid
  if ! pid="$(cassandra_pid)"; then
    say "cassandra: not running"
    rm -f "$CASSANDRA_PID"
    return 0
  fi
  stop_process cassandra "$pid" 60 SIGTERM
  rm -f "$CASSANDRA_PID"
  say "cassandra: stopped"
}

cassandra_status() {
  local pid
  if pid="$(cassandra_pid)"; then
    status_line cassandra running "$HOST:$(cassandra_port)" "pid $pid"
  else
    status_line cassandra stopped "$HOST:$(cassandra_port)" "-"
    return 1
  fi
}

cassandra_reset() {
  cassandra_down
  say "cassandra: deleting $CASSANDRA_DATA"
  rm -rf "$CASSANDRA_DATA"
}

cassandra_url() { echo "$HOST:$(cassandra_port)"; }

cassandra_log() { echo "$CASSANDRA_LOGS/system.log"; }
