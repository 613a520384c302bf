#!/usr/bin/env bash
# Mixed load on `vane serve` (loopback, wrk from Debian; the load generator on the same cores as the server):
#   1. recommend paced at 1,000 req/s for random known ML-1M users WHILE 20,000 events/s of known users are
#      ingested durably in batches of 100 (same run, 30 s);
#   2. durable ingestion as fast as possible in batches of 1,000 (20 s);
#   3. user deletions during paced recommend traffic: the recommend latency while 20 users are deleted, and how
#      long each deletion's swap held the exclusive lock (from /v1/stats).
# Usage: [DATA=pairs-file] [DUR=30] bench/mixed_bench.sh [model-dir]   (seed data: ML-1M from ../shared/datasets;
# DATA=a smaller pairs file for sanitizer runs, which replay far slower)
set -euo pipefail
cd "$(dirname "$0")/.."
VANE=${VANE:-./build/release/apps/vane/vane}
DATA=${DATA:-../shared/datasets/ml-1m/ml-1m_sasrec.txt}
MODEL="${1:-}"
DIR=$(mktemp -d)
STORE=$DIR/store
PORT=${PORT:-18189}
DUR=${DUR:-30}
echo "# vane mixed-load benchmark | $(date -u +%FT%TZ) | $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2) | $(git rev-parse --short HEAD) | model: ${MODEL:-none}"
args=(serve --format pairs --input "$DATA" --store "$STORE" --port $PORT --quiet)
[ -n "$MODEL" ] && args+=(--model "$MODEL" --model-cache-users 6040)
"$VANE" "${args[@]}" > "$DIR/out" 2> "$DIR/err" &
PID=$!
trap 'kill $PID 2>/dev/null || true; rm -rf "$DIR"' EXIT
until grep -q listening "$DIR/out" 2>/dev/null; do sleep 0.2; kill -0 $PID || { tail "$DIR/err"; exit 1; }; done
URL="http://127.0.0.1:$PORT"
echo "## warm-up: recommend for every user, 20 s as fast as possible"
VANE_RATE=1000000 VANE_THREADS=1 wrk -t1 -c8 -d20s -s bench/wrk/recommend.lua "$URL" | tail -1
echo "## warm-up: ingest 10 s (events may name catalogue ids not in ML-1M: they are created now, not during the measurement)"
VANE_BATCH=100 VANE_USERS=6040 VANE_EVENT_RATE=20000 VANE_THREADS=1 wrk -t1 -c4 -d10s -s bench/wrk/ingest.lua "$URL" | tail -1
echo "## 1. recommend at 1,000 req/s (10 connections) while ingesting 20,000 events/s of known users in batches of 100 (4 connections), ${DUR} s"
VANE_BATCH=100 VANE_USERS=6040 VANE_EVENT_RATE=20000 VANE_THREADS=1 \
  wrk -t1 -c4 -d${DUR}s --latency -s bench/wrk/ingest.lua "$URL" > "$DIR/ingest.txt" &
ING=$!
VANE_RATE=1000 VANE_THREADS=1 VANE_USERS=6040 wrk -t1 -c10 -d${DUR}s --latency -s bench/wrk/recommend.lua "$URL" | tail -1 | sed 's/^/recommend: /'
wait $ING
tail -1 "$DIR/ingest.txt" | sed 's/^/ingest:    /'
echo "## 2. durable ingestion as fast as possible, batches of 1,000 new events (4 connections), 20 s"
VANE_BATCH=1000 wrk -t1 -c4 -d20s --latency -s bench/wrk/ingest.lua "$URL" | tail -1
echo "## 3. recommend at 1,000 req/s (10 connections) while 20 users are deleted (one per second)"
VANE_RATE=1000 VANE_THREADS=1 VANE_USERS=6040 wrk -t1 -c10 -d25s --latency -s bench/wrk/recommend.lua "$URL" > "$DIR/rec.txt" &
REC=$!
sleep 2
for u in $(seq 101 120); do
  curl -s -o /dev/null -w "%{http_code} %{time_total}s | " -X DELETE "$URL/v1/users/$u"
  sleep 1
done
echo
wait $REC
tail -1 "$DIR/rec.txt" | sed 's/^/recommend: /'
for _ in $(seq 1 240); do  # the background rebuild after the deletions (a replay of the log without them)
  curl -s "$URL/v1/stats" | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin).get("rebuilds",0) >= 1 else 1)' && break
  sleep 1
done
curl -s "$URL/v1/stats" | python3 -c 'import json,sys; s=json.load(sys.stdin); print("rebuilds", s.get("rebuilds"), "| last rebuild", s.get("last_rebuild_seconds"), "s | last swap", s.get("last_swap_ms"), "ms")'
echo "resident memory: $(ps -o rss= -p $PID) KiB"
