#!/usr/bin/env bash
# The whole test suite on the real local stack (installs what is missing first).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec npx jest --runInBand "$@"
