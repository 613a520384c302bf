#!/usr/bin/env bash
# Load benchmark of `vane serve` on loopback with wrk (Debian): recommendation latency at a fixed request rate,
# durable batched ingestion throughput, recovery time after a restart, resident memory.
# Usage: [CACHE=6040] bench/serve_bench.sh [model-dir]   (ML-1M from ../shared/datasets; the model joins the blend
# when given; CACHE = --model-cache-users, default 1000; SERVE_ARGS = more `vane serve` flags, e.g.
# SERVE_ARGS="--blend out/bench/ml1m_ranker_blend.json" for a fitted blend with the learned ranker)
# The load generator runs on the same 2 cores as the server: figures are for both together.
set -euo pipefail
cd "$(dirname "$0")/.."
VANE=${VANE:-./build/release/apps/vane/vane}
DATA=../shared/datasets/ml-1m/ml-1m_sasrec.txt
MODEL="${1:-}"
STORE=$(mktemp -d)/store
PORT=18187
echo "# vane serve load benchmark | $(date -u +%FT%TZ) | $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2) | $(git rev-parse --short HEAD)"
args=(serve --format pairs --input "$DATA" --store "$STORE" --port $PORT --quiet)
[ -n "$MODEL" ] && args+=(--model "$MODEL" --model-cache-users "${CACHE:-1000}")
# shellcheck disable=SC2206
[ -n "${SERVE_ARGS:-}" ] && args+=($SERVE_ARGS)
echo "# vane ${args[*]}"
start() {
  "$VANE" "${args[@]}" > "$STORE.out" 2> "$STORE.err" &
  PID=$!
  until grep -q listening "$STORE.out" 2>/dev/null; do sleep 0.2; kill -0 $PID || { tail "$STORE.err"; exit 1; }; done
  grep -m1 "recovered" "$STORE.err"
}
t0=$(date +%s.%N); start; t1=$(date +%s.%N)
echo "first start (fill the store with ML-1M, replay): $(awk "BEGIN{printf \"%.1f\", $t1 - $t0}") s"
echo "resident memory after start: $(ps -o rss= -p $PID) KiB"
curl -s "http://127.0.0.1:$PORT/v1/recommend/1?n=10" > /dev/null
if [ -n "$MODEL" ] && [ "${PREPARE_WAIT:-1}" = 1 ]; then
  # The background pass over users' model states (vane serve --no-model-prepare turns it off): wait for it, so that
  # the paced run measures the steady state; the wait and the pass's own figures are printed.
  t0=$(date +%s.%N)
  for _ in $(seq 600); do
    curl -s "http://127.0.0.1:$PORT/v1/stats" | grep -q '"model_prepare_done":true' && break
    sleep 0.5
  done
  t1=$(date +%s.%N)
  echo "model states prepared in the background: waited $(awk "BEGIN{printf \"%.1f\", $t1 - $t0}") s after the start; $(grep -m1 'states prepared' "$STORE.err" || echo 'the pass did not finish')"
fi
# wrk's error counts (timeouts, socket errors, non-2xx answers) when there are any, then the script's summary line.
wrk_run() {
  local out
  out=$(wrk "$@")
  echo "$out" | grep -E "Socket errors|Non-2xx" || true
  echo "$out" | tail -1
}
echo "## warm-up: every user once (as fast as possible, 30 s)"
VANE_RATE=1000000 VANE_THREADS=2 wrk_run -t2 -c10 -d30s --latency -s bench/wrk/recommend.lua "http://127.0.0.1:$PORT"
echo "## recommend, paced at 1,000 requests/s for 30 s (10 connections, random ML-1M users, n=10, explanations on)"
VANE_RATE=1000 VANE_THREADS=2 VANE_USERS=6040 wrk_run -t2 -c10 -d30s --latency -s bench/wrk/recommend.lua "http://127.0.0.1:$PORT"
echo "## recommend, as fast as possible for 20 s (10 connections)"
VANE_RATE=1000000 VANE_THREADS=2 wrk_run -t2 -c10 -d20s --latency -s bench/wrk/recommend.lua "http://127.0.0.1:$PORT"
echo "## durable ingestion, batches of 1,000 new events, 20 s (4 connections)"
VANE_BATCH=1000 wrk_run -t2 -c4 -d20s --latency -s bench/wrk/ingest.lua "http://127.0.0.1:$PORT"
echo "resident memory after the load: $(ps -o rss= -p $PID) KiB"
curl -s "http://127.0.0.1:$PORT/v1/stats"; echo
kill -9 $PID; wait $PID 2>/dev/null || true
t0=$(date +%s.%N); start; t1=$(date +%s.%N)
echo "restart after kill -9 (recovery): $(awk "BEGIN{printf \"%.1f\", $t1 - $t0}") s"
kill $PID; wait $PID 2>/dev/null || true
rm -rf "$(dirname "$STORE")"
