#!/usr/bin/env bash
# Installs whatever roomcast needs on this machine and builds it. Idempotent: fast when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
LIVEKIT_VERSION=v1.13.5
VERSITYGW_VERSION=v1.8.0
APT_PACKAGES=(ffmpeg sox espeak-ng chromium pocketsphinx pocketsphinx-en-us pocketsphinx-testdata redis-server wrk)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Go-built services, pinned; rebuilt only when the version on disk differs.
mkdir -p .tools/bin
export PATH=/usr/local/go/bin:$PATH
if ! .tools/bin/livekit-server --version 2>/dev/null | grep -q "${LIVEKIT_VERSION#v}"; then
  echo "setup: building livekit-server $LIVEKIT_VERSION"
  CGO_ENABLED=0 GOBIN="$ROOT/.tools/gobin" go install "github.com/livekit/livekit-server/cmd/server@$LIVEKIT_VERSION"
  cp .tools/gobin/server .tools/bin/livekit-server
fi
if [ "$(cat .tools/bin/versitygw.version 2>/dev/null)" != "$VERSITYGW_VERSION" ]; then
  echo "setup: building versitygw $VERSITYGW_VERSION"
  CGO_ENABLED=0 GOBIN="$ROOT/.tools/gobin" go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
  cp .tools/gobin/versitygw .tools/bin/versitygw
  echo "$VERSITYGW_VERSION" > .tools/bin/versitygw.version
fi

# Node dependencies: reinstalled when package-lock.json changes.
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -d node_modules ] || [ "$(cat node_modules/.roomcast-lock 2>/dev/null)" != "$lock_sum" ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > node_modules/.roomcast-lock
fi

# TypeScript build (incremental through tsc's own up-to-date check is not worth it: ~10 s).
src_sum=$( (find src infra -type f -print0 | sort -z | xargs -0 sha256sum; sha256sum tsconfig.json package-lock.json) | sha256sum | cut -d' ' -f1)
if [ ! -f dist/.built ] || [ "$(cat dist/.built)" != "$src_sum" ]; then
  echo "setup: building TypeScript"
  rm -rf dist
  npx tsc -p tsconfig.json
  mkdir -p dist/player && cp -r src/player/replay src/player/live dist/player/
  echo "$src_sum" > dist/.built
fi
