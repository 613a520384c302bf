#!/usr/bin/env bash
# The dashboard in a real browser: Debian's Chromium, driven headless by playwright-core (pinned in
# tests/dashboard/package.json; it downloads no browser), against the real `vane serve` on loopback with the
# embedded demo data. tests/dashboard/test.mjs picks a user with the keyboard, types a search and checks that the
# interest graph, the interest text and the recommendations change; screenshots (laptop and phone widths) are
# kept in ARTIFACTS (dashboard-idle.png: an idle user; dashboard.png: after the search; dashboard-models.png,
# dashboard-service.png, dashboard-phone.png). Usage: dashboard_test.sh path/to/vane work-folder artifacts-folder
# With DASH_MODEL=dir the server serves that model (--model) and the Models page must say it is not a kept version.
# With DASH_CLUSTER=1 the server is a node of a real Redis Cluster started here (3+3 on loopback, `vane serve
# --cluster`), and the Service page must show the node's cluster card (lag, position, the lag chart).
set -euo pipefail
VANE="$1"; WORK="$2"; ARTIFACTS="$3"
SRC="$(cd "$(dirname "$0")" && pwd)/dashboard"
mkdir -p "$WORK" "$ARTIFACTS"
cp "$SRC/package.json" "$SRC/package-lock.json" "$SRC/test.mjs" "$WORK/"
( cd "$WORK" && [ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund --loglevel=error )
rm -rf "$WORK/store"
source "$(dirname "$0")/serve_lib.sh"
MODEL_ARGS=()
[ -n "${DASH_MODEL:-}" ] && MODEL_ARGS=(--model "$DASH_MODEL") && export MODEL_GIVEN=1
source "$(dirname "$0")/redis_cluster_lib.sh"
cluster_serve_args "${DASH_CLUSTER:-}" "$WORK" dash
[ -n "${DASH_CLUSTER:-}" ] && export EXPECT_CLUSTER=1
trap 'kill -9 ${PID:-} "${REDIS_PIDS[@]}" 2>/dev/null || true' EXIT
start_server "$VANE" "$WORK/serve.out" "$WORK/serve.err" --store "$WORK/store" "${MODEL_ARGS[@]}" "${CLUSTER_ARGS[@]}"
cd "$WORK" && QUERY="${QUERY:-hiking boots}" EXPECT_NODE="${EXPECT_NODE:-hiking}" node test.mjs "http://127.0.0.1:$PORT" "$ARTIFACTS"
