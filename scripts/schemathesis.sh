#!/usr/bin/env bash
# Runs schemathesis (PyPI) from a project-local, git-ignored virtual environment, installing it on
# first use: ./scripts/schemathesis.sh run URL [options]. TALLY_SCHEMATHESIS_DIR moves the venv.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSION="4.32.5"
VENV="${TALLY_SCHEMATHESIS_DIR:-$ROOT/.tools/schemathesis}"
if [[ ! -x "$VENV/bin/st" ]] || ! "$VENV/bin/st" --version 2>/dev/null | grep -q "$VERSION"; then
  echo "schemathesis: installing schemathesis==$VERSION into ${VENV#"$ROOT"/} (one time)" >&2
  python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$VERSION" >&2
fi
exec "$VENV/bin/st" "$@"
