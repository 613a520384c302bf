#!/usr/bin/env bash
# Gorse's official JavaScript client (npm gorsejs, pinned in tests/gorsejs/package.json) against the real
# `vane serve` on loopback. Usage: gorsejs_test.sh path/to/vane work-folder
set -euo pipefail
VANE="$1"; WORK="$2"
SRC="$(cd "$(dirname "$0")" && pwd)/gorsejs"
mkdir -p "$WORK"
cp "$SRC/package.json" "$SRC/test.js" "$WORK/"
( cd "$WORK" && [ -d node_modules/gorsejs ] || npm install --no-audit --no-fund --loglevel=error )
rm -rf "$WORK/store"
"$VANE" serve --store "$WORK/store" --port 0 --quiet --api-key gj-secret:admin > "$WORK/serve.out" 2> "$WORK/serve.err" &
PID=$!
trap 'kill -9 $PID 2>/dev/null || true' EXIT
PORT=""
for _ in $(seq 1 300); do
  PORT=$(grep -oE 'listening on http://127.0.0.1:[0-9]+' "$WORK/serve.out" 2>/dev/null | grep -oE '[0-9]+$' || true)
  [ -n "$PORT" ] && break
  sleep 0.1
done
[ -n "$PORT" ] || { echo "server did not start"; tail -5 "$WORK/serve.err"; exit 1; }
cd "$WORK" && node test.js "http://127.0.0.1:$PORT" gj-secret
