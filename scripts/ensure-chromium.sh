#!/usr/bin/env bash
# Prints the path of a headless-capable Chromium, installing Debian's `chromium` first when it is
# missing (the dashboard's browser test needs it). Idempotent; needs root (or chromium present).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/services/lib.sh
source scripts/services/lib.sh
if ! command -v chromium >/dev/null 2>&1; then
  mkdir -p .services
  exec 8>".services/.chromium-install.lock"
  flock -w 600 8 || die "another run holds .services/.chromium-install.lock"
  command -v chromium >/dev/null 2>&1 || apt_install chromium
fi
command -v chromium
