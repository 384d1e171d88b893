#!/usr/bin/env bash
# Shared helpers of the service scripts; sourced by scripts/services.sh.

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

# ensure_command NAME: prints the path of command NAME, installing the Debian package of the same
# name first when it is missing, under a lock in .services/ so that parallel runs install it once.
ensure_command() {
  local name="$1"
  if ! command -v "$name" >/dev/null 2>&1; then
    mkdir -p .services
    exec 8>".services/.$name-install.lock"
    flock -w 600 8 || die "another run holds .services/.$name-install.lock"
    command -v "$name" >/dev/null 2>&1 || apt_install "$name"
  fi
  command -v "$name"
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


# --- JVM services (Kafka, Cassandra): jars from Maven Central, a java process of their own ---

# ensure_java_and_maven: java 17+ and mvn, from Debian when missing.
ensure_java_and_maven() {
  local missing=()
  command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null 2>&1 || missing+=(maven)
  ((${#missing[@]} == 0)) || apt_install "${missing[@]}"
  local major
  major="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
  [[ "${major%%.*}" -ge 17 ]] 2>/dev/null || die "Kafka 4 and Cassandra 5 need Java 17 or newer; 'java' is version ${major:-unknown}"
}

# maven_fetch_jars NAME POM DIR LIB VERSION-PROPERTY VERSION MAIN-JAR: the runtime jar set of the
# pom (its dependencies, copied by Maven into LIB). Refetched when the pom or the version changes
# (LIB/.complete records both); a failed fetch leaves the previous set in place.
maven_fetch_jars() {
  local name="$1" pom="$2" dir="$3" lib="$4" property="$5" version="$6" main_jar="$7"
  local stamp="$lib/.complete" want
  want="$version $(cksum <"$pom")"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    return 0
  fi
  ensure_java_and_maven
  say "$name: fetching the $version jars with mvn (first time only; 10-15 s here, up to a minute on a slow network)"
  mkdir -p "$dir"
  cp "$pom" "$dir/pom.xml"
  rm -rf "$lib.tmp"
  if ! (cd "$dir" && mvn -q -B -f pom.xml -D"$property=$version" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$lib.tmp" \
    >"$dir/mvn.log" 2>&1); then
    die_with_log "$dir/mvn.log" "mvn could not fetch $main_jar and its dependencies"
  fi
  [[ -f "$lib.tmp/$main_jar" ]] || die "mvn finished but $main_jar is missing"
  rm -rf "$lib"
  mv "$lib.tmp" "$lib"
  echo "$want" >"$stamp"
  say "$name: $(find "$lib" -name '*.jar' | wc -l) jars in $lib"
}

# jvm_launch PIDFILE LOG OFFSETFILE OUT JAVA-ARGS...: starts java in a session of its own, in the
# background, with fd 9 (the services lock) closed and its output in OUT; records LOG's size in
# OFFSETFILE (jvm_wait shows only what this start logged) and the pid in PIDFILE.
jvm_launch() {
  local pidfile="$1" log="$2" offsetfile="$3" out="$4"
  shift 4
  stat -c %s "$log" 2>/dev/null >"$offsetfile" || echo 0 >"$offsetfile"
  setsid nohup java "$@" </dev/null >"$out" 2>&1 9>&- &
  echo $! >"$pidfile"
}

# log_since LOG OFFSETFILE: what LOG holds after the offset jvm_launch recorded (all of it when
# it rolled over). Read it through a process substitution: with pipefail, `tail | grep -q` can
# fail on SIGPIPE.
log_since() {
  local log="$1" offset
  offset="$(read_file_or_empty "$2")"
  offset="${offset:-0}"
  if (($(stat -c %s "$log" 2>/dev/null || echo 0) < offset)); then offset=0; fi
  tail -c "+$((offset + 1))" "$log" 2>/dev/null
}

# jvm_wait NAME PIDFILE MATCH LOG OFFSETFILE OUT TIMEOUT READY-COMMAND...: waits until
# READY-COMMAND succeeds; fails, showing the logs, when the process (its command line holding
# MATCH) exits or TIMEOUT seconds pass.
jvm_wait() {
  local name="$1" pidfile="$2" match="$3" log="$4" offsetfile="$5" out="$6" timeout="$7"
  shift 7
  local pid offset deadline=$((SECONDS + timeout))
  pid="$(read_file_or_empty "$pidfile")"
  offset="$(read_file_or_empty "$offsetfile")"
  while true; do
    if ! pid_matches "$pid" "$match"; then
      echo "services: error: $name: pid $pid exited while starting" >&2
      show_log "$out"
      show_log "$log" "${offset:-0}"
      exit 1
    fi
    "$@" && return 0
    if ((SECONDS >= deadline)); then
      echo "services: error: $name: not ready after ${timeout}s (pid $pid still running)" >&2
      show_log "$log" "${offset:-0}"
      exit 1
    fi
    sleep 0.3
  done
}

# stop_process NAME PID GRACE-SECONDS HOW: SIGTERM, then SIGKILL after GRACE-SECONDS.
stop_process() {
  local name="$1" pid="$2" grace="$3" how="$4"
  say "$name: stopping pid $pid ($how)"
  kill -TERM "$pid"
  if ! wait_gone "$pid" "$grace"; then
    say "$name: still running after ${grace}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 10 || die "$name: pid $pid does not exit"
  fi
}
