#!/usr/bin/env bash
# Gorse's official JavaScript client (npm gorsejs, pinned in tests/gorsejs/package.json) against the real
# `vane serve` on loopback. Usage: gorsejs_test.sh path/to/vane work-folder
# With GORSE_CLUSTER=1 the server is a node of a real Redis Cluster started here (3+3 on loopback, `vane serve
# --cluster`): every write goes through the shared log.
set -euo pipefail
VANE="$1"; WORK="$2"
SRC="$(cd "$(dirname "$0")" && pwd)/gorsejs"
mkdir -p "$WORK"
cp "$SRC/package.json" "$SRC/test.js" "$WORK/"
( cd "$WORK" && [ -d node_modules/gorsejs ] || npm install --no-audit --no-fund --loglevel=error )
rm -rf "$WORK/store"
source "$(dirname "$0")/serve_lib.sh"
# Gorse's feedback-type settings through the environment (VANE_<SECTION>_<KEY>): the custom types the test sends.
export VANE_GORSE_POSITIVE_FEEDBACK_TYPES=star,like,upvote VANE_GORSE_READ_FEEDBACK_TYPES=read,watch
source "$(dirname "$0")/redis_cluster_lib.sh"
cluster_serve_args "${GORSE_CLUSTER:-}" "$WORK" gorse
trap 'kill -9 ${PID:-} "${REDIS_PIDS[@]}" 2>/dev/null || true' EXIT
start_server "$VANE" "$WORK/serve.out" "$WORK/serve.err" --store "$WORK/store" --api-key gj-secret:admin "${CLUSTER_ARGS[@]}"
cd "$WORK" && node test.js "http://127.0.0.1:$PORT" gj-secret
