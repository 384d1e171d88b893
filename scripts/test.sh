#!/usr/bin/env bash
# The whole test suite: starts the servers the tests need, then type check, lint and every test.
# Phase 1 runs every test file except test/faults/ in parallel; phase 2 runs test/faults/ one file
# at a time, because those tests restart the shared Kafka, PostgreSQL and Redis servers.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
./tally services up
bash scripts/schemathesis.sh --version >/dev/null   # installs schemathesis (PyPI) into .tools/ once, outside the tests' timeouts
bash scripts/ensure-wrk.sh >/dev/null               # Debian's wrk, the bench's load generator (its smoke test runs it)
echo "== typecheck"; ./tally node node_modules/.bin/tsc --noEmit
echo "== lint"
./tally node node_modules/.bin/eslint .
./tally node node_modules/.bin/madge --circular --extensions ts src bench
echo "== build packages/client"; ./tally node --no-warnings packages/client/build.ts
mapfile -t main_tests < <(find test -name '*.test.ts' -not -path 'test/faults/*' | sort)
mapfile -t fault_tests < <(find test/faults -name '*.test.ts' 2>/dev/null | sort)
echo "== tests (${#main_tests[@]} files in parallel)"
./tally node --test --test-concurrency=2 --test-timeout=240000 "${main_tests[@]}"
if (( ${#fault_tests[@]} > 0 )); then
  echo "== fault tests (${#fault_tests[@]} files, one at a time: they restart the servers)"
  ./tally node --test --test-concurrency=1 --test-timeout=600000 "${fault_tests[@]}"
  ./tally services up
fi
