#!/usr/bin/env bash
# Tally's dev services, all on 127.0.0.1 only, state kept in .services/ (git-ignored):
#   cassandra Apache Cassandra 5.0.x, one node, jars from Maven Central (Java 17)
#   kafka     Apache Kafka 4.x, KRaft single node (broker+controller), jars from Maven Central
#   kafka3    a 3-node Kafka cluster on ports 9192-9194 (replication tests; only when named)
#   postgres  PostgreSQL from Debian, a project cluster (not the Debian default cluster)
#   redis     Redis from Debian, a cache: no persistence
#   dynamodb  moto_server (PyPI moto[server]) in a project venv: DynamoDB + Streams emulator, in memory
#
# Usage: ./tally services <command> [service...]     (or: bash scripts/services.sh <command> ...)
#   up [svc...]         install what is missing, start what is not running (default: all)
#   down [svc...]       stop what `up` started; data is kept
#   restart [svc...]    down then up
#   status [svc...]     one line per service; exit 3 when one of them is not running
#   urls                the addresses the app uses, as name=value lines
#   logs <svc>          the last 50 lines of a service's log
#   reset <svc...>      stop and DELETE the service's data (fresh cluster on next up)
#   kafka3-start-node N start node N of kafka3 again (after a test killed it)
#   kafka-tool <alias|main-class> [args...]   run a Kafka CLI tool with the fetched jars
#   kafka-topics, kafka-console-consumer, kafka-console-producer, kafka-consumer-groups,
#   kafka-get-offsets, kafka-metadata-quorum, kafka-broker-api-versions, kafka-features,
#   kafka-cluster, kafka-storage [args...]    shorthands for kafka-tool <alias>
#
# Ports: TALLY_KAFKA_PORT (9092), TALLY_KAFKA_CONTROLLER_PORT (9093), TALLY_KAFKA3_PORT (9192),
#        TALLY_POSTGRES_PORT (5432), TALLY_REDIS_PORT (6379), TALLY_DYNAMODB_PORT (8000), TALLY_CASSANDRA_PORT (9042),
#        TALLY_CASSANDRA_STORAGE_PORT (7000).
# Cassandra: TALLY_CASSANDRA_VERSION (5.0.9), TALLY_CASSANDRA_HEAP ("-Xms512m -Xmx512m").
# Kafka: TALLY_KAFKA_VERSION (4.1.1), TALLY_KAFKA_HEAP ("-Xmx1g -Xms256m").
#
# Each service lives in scripts/services/<name>.sh and defines <name>_start (launch, may return
# before the server is ready), <name>_wait, <name>_down, <name>_status, <name>_reset, <name>_url
# and <name>_log; scripts/services/lib.sh holds the shared helpers.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HELPERS="$ROOT/scripts/services"
SVC="$ROOT/.services"
# In start order: the slow starters first, so the others start while they boot. `up` with no
# name starts DEFAULT_SERVICES; the others (kafka3) start only when named.
DEFAULT_SERVICES=(cassandra kafka postgres redis dynamodb)
ALL_SERVICES=("${DEFAULT_SERVICES[@]}" kafka3)
HOST=127.0.0.1

# shellcheck source=services/lib.sh
source "$HELPERS/lib.sh"
for service in "${ALL_SERVICES[@]}"; do
  # shellcheck disable=SC1090
  source "$HELPERS/$service.sh"
done

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }

# Sets SELECTED to the named services (default: all), in the canonical order.
select_services() {
  SELECTED=()
  local name
  for name in "$@"; do
    [[ " ${ALL_SERVICES[*]} " == *" $name "* ]] || die "unknown service '$name' (known: ${ALL_SERVICES[*]})"
  done
  for name in "${ALL_SERVICES[@]}"; do
    if [[ ($# -eq 0 && " ${DEFAULT_SERVICES[*]} " == *" $name "*) || " $* " == *" $name "* ]]; then SELECTED+=("$name"); fi
  done
}

cmd_up() {
  select_services "$@"
  take_lock
  local name
  for name in "${SELECTED[@]}"; do "${name}_start"; done
  for name in "${SELECTED[@]}"; do "${name}_wait"; done
}

cmd_down() {
  select_services "$@"
  take_lock
  local name
  for name in "${SELECTED[@]}"; do "${name}_down"; done
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
  local name
  for name in "${ALL_SERVICES[@]}"; do echo "$name=$("${name}_url")"; done
}

cmd_logs() {
  [[ $# -eq 1 ]] || die "usage: logs <service>"
  select_services "$1"
  local log
  log="$("${1}_log")"
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
    kafka3-start-node) kafka3_start_node "$@" && kafka3_wait ;;
    kafka-*) kafka_tool "$command" "$@" ;;
    -h | --help | help) usage ;;
    *)
      usage >&2
      die "unknown command '$command'"
      ;;
  esac
}

main "$@"
