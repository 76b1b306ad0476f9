#!/usr/bin/env bash
# Optional: the whisper transcription engine. Builds whisper.cpp (shipped inside the smart-whisper
# npm package) for this CPU, offline: node-gyp uses the system's Node headers instead of downloading.
set -euo pipefail
cd "$(dirname "$0")/.."
export CFLAGS="-O3 -march=native" CXXFLAGS="-O3 -march=native"
npm install --no-save --no-audit --no-fund --foreground-scripts --nodedir=/usr smart-whisper@0.8.1
node -e "require('smart-whisper'); console.log('smart-whisper is ready; set TRANSCRIBE_ENGINE=whisper and WHISPER_MODEL=/path/to/ggml-model.bin')"
