#!/usr/bin/env bash
# The whole test suite: starts the servers the tests need, then type check, lint and every test.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
./tally services up
echo "== typecheck"; ./tally node node_modules/.bin/tsc --noEmit
echo "== lint"; ./tally node node_modules/.bin/eslint . && ./tally node node_modules/.bin/madge --circular --extensions ts src bench >/dev/null && echo "no circular imports"
echo "== tests"
./tally node --test --test-concurrency=2 --test-timeout=240000 'test/**/*.test.ts'
