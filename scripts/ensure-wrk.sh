#!/usr/bin/env bash
# Prints the path of `wrk`, the native HTTP load generator the bench's request-rate phases use,
# installing Debian's `wrk` first when it is missing. Idempotent; needs root (or wrk present).
# Exits non-zero with a message saying why when wrk cannot be installed; `./tally bench` then
# falls back to its Node client and says so in its report.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/services/lib.sh
source scripts/services/lib.sh
ensure_command wrk
