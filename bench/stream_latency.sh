#!/usr/bin/env bash
# The dashboard's update latency: `vane serve` on the demo data, one stream open, ROUNDS (default 200) events posted
# one after another; each is timed from the POST until its state arrives on the stream (bench/stream_latency.py).
set -euo pipefail
cd "$(dirname "$0")/.."
VANE=${VANE:-./build/release/apps/vane/vane}
DIR=$(mktemp -d)
trap 'kill $PID 2>/dev/null || true; rm -rf "$DIR"' EXIT
echo "# vane stream latency | $(date -u +%FT%TZ) | $(nproc) cores | $(git rev-parse --short HEAD) | demo data, user u7"
source tests/serve_lib.sh
start_server "$VANE" "$DIR/out" "$DIR/err" --store "$DIR/store"
python3 bench/stream_latency.py "$PORT" u7 "${1:-200}"
