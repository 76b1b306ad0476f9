#!/usr/bin/env bash
# The demo: local stack + every role + a room with three speaker bots (installs what is missing first).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec ./bin/roomcast demo "$@"
