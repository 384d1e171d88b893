#!/usr/bin/env bash
# Prints the path of a headless-capable Chromium, installing Debian's `chromium` first when it is
# missing (the dashboard's browser test needs it). Idempotent; needs root (or chromium present).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/services/lib.sh
source scripts/services/lib.sh
ensure_command chromium
