#!/usr/bin/env bash
# The long crash test: ROUNDS (default 20) rounds of kill -9 at a random moment during batched ingestion, each
# followed by a restart that must hold every acknowledged event and replay identically (tests/serve_crash.sh).
# Usage: bench/crash_bench.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/serve_crash.sh ./build/release/apps/vane/vane "${1:-20}"
