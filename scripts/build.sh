#!/usr/bin/env bash
# Configures and builds vane (Release, Ninja) into build/release. Usage: scripts/build.sh [targets...]
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${VANE_JOBS:-$(nproc)}
cmake --preset release >/dev/null
if [ $# -gt 0 ]; then
  cmake --build build/release -j "$JOBS" --target "$@"
else
  cmake --build build/release -j "$JOBS"
fi
