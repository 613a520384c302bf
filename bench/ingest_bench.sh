#!/usr/bin/env bash
# Durable ingestion alone on `vane serve` (loopback, wrk from Debian on the same cores as the server, ML-1M as seed
# data): batches of 1,000 new events as fast as possible, 4 connections, after a short warm-up. With PERF=1 the
# server is sampled meanwhile (`perf record -g`, user space) and the top of the profile is printed: where the
# ingest path spends its time. Step 2 of bench/mixed_bench.sh without the rest, for before/after comparisons.
# Usage: [VANE=binary] [DATA=pairs-file] [DUR=20] [PERF=1] bench/ingest_bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
VANE=${VANE:-./build/release/apps/vane/vane}
DATA=${DATA:-../shared/datasets/ml-1m/ml-1m_sasrec.txt}
DIR=$(mktemp -d)
STORE=$DIR/store
PORT=${PORT:-18191}
DUR=${DUR:-20}
echo "# vane ingest benchmark | $(date -u +%FT%TZ) | $(nproc) cores | $VANE | load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$VANE" serve --format pairs --input "$DATA" --store "$STORE" --port $PORT --quiet > "$DIR/out" 2> "$DIR/err" &
PID=$!
trap 'kill $PID 2>/dev/null || true; rm -rf "$DIR"' EXIT
until grep -q listening "$DIR/out" 2>/dev/null; do sleep 0.2; kill -0 $PID || { tail "$DIR/err"; exit 1; }; done
URL="http://127.0.0.1:$PORT"
VANE_BATCH=1000 wrk -t1 -c4 -d5s -s bench/wrk/ingest.lua "$URL" > /dev/null  # warm-up (new items, first flushes)
if [ "${PERF:-0}" = 1 ]; then
  perf record -F 499 -g -p $PID -o "$DIR/perf.data" -- sleep "$DUR" > /dev/null 2>&1 &
  PERFPID=$!
fi
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
VANE_BATCH=1000 wrk -t1 -c4 -d${DUR}s --latency -s bench/wrk/ingest.lua "$URL" | tail -1
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg) | store $(du -sh "$STORE" | cut -f1)"
if [ "${PERF:-0}" = 1 ]; then
  wait $PERFPID || true
  [ -n "${PERF_OUT:-}" ] && cp "$DIR/perf.data" "$PERF_OUT"
  for key in symbol dso comm; do
    echo "## profile: self time by $key"
    perf report -i "$DIR/perf.data" --no-children --sort $key --stdio -g none 2>/dev/null > "$DIR/report.txt" || true
    sed -E 's/ +/ /g' "$DIR/report.txt" | grep -E '^ ?[0-9]' | head -40 || true
  done
fi
