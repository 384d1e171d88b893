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

