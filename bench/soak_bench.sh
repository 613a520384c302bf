#!/usr/bin/env bash
# Memory soak of `vane serve`: ML-1M as the seed (6,040 users), the model in the blend, then MINUTES (default 10) of
# durable ingestion at full speed for the same users (so the user base is stable) together with paced
# recommendations; resident memory and the server's own counters are sampled every 20 s. With every cache bounded
# (model states and vectors, the in-memory event window, per-user history lists) resident memory must level off
# while the store on disk keeps growing.
# Usage: bench/soak_bench.sh [model-dir] [MINUTES]   (MEMORY_EVENTS, HISTORY, EDGES = [memory] events,
# history_per_user, edges_per_item: 1,000,000, 200 and 200 here, smaller than the server's defaults so that every
# bound is reached within minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
VANE=${VANE:-./build/release/apps/vane/vane}
DATA=../shared/datasets/ml-1m/ml-1m_sasrec.txt
MODEL="${1:-}"
MINUTES="${2:-10}"
DIR=$(mktemp -d)
PORT=18188
cat > "$DIR/vane.toml" <<TOML
[memory]
events = ${MEMORY_EVENTS:-1000000}
history_per_user = ${HISTORY:-200}
edges_per_item = ${EDGES:-200}
[model]
cache_users = 1000
cache_vectors = 100000
TOML
echo "# vane serve memory soak | $(date -u +%FT%TZ) | $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2) | $(git rev-parse --short HEAD)"
echo "# config: $(tr '\n' ' ' < "$DIR/vane.toml")"
args=(serve --config "$DIR/vane.toml" --format pairs --input "$DATA" --store "$DIR/store" --port $PORT --quiet)
[ -n "$MODEL" ] && args+=(--model "$MODEL")
"$VANE" "${args[@]}" > "$DIR/out" 2> "$DIR/err" &
PID=$!
until grep -q listening "$DIR/out" 2>/dev/null; do sleep 0.2; kill -0 $PID || { tail "$DIR/err"; exit 1; }; done
VANE_BATCH=1000 VANE_USERS=6040 wrk -t1 -c2 -d${MINUTES}m --timeout 10s --latency -s bench/wrk/ingest.lua "http://127.0.0.1:$PORT" > "$DIR/ingest.txt" &
W1=$!
VANE_RATE=200 VANE_THREADS=1 wrk -t1 -c4 -d${MINUTES}m --latency -s bench/wrk/recommend.lua "http://127.0.0.1:$PORT" > "$DIR/rec.txt" &
W2=$!
echo "seconds | RSS MiB | events (total) | events in memory | state MiB | store MiB"
t0=$(date +%s)
while kill -0 $W1 2>/dev/null; do
  s=$(curl -s "http://127.0.0.1:$PORT/v1/stats")
  python3 -c "import json,sys; s=json.loads(sys.argv[1]); print(f\"{int(sys.argv[2]):7d} | {int(sys.argv[3])/1024:7.0f} | {s['events']:14d} | {s['events_in_memory']:16d} | {s['state_bytes']/2**20:9.1f} | {s['store_bytes']/2**20:9.0f}\")" \
    "$s" $(( $(date +%s) - t0 )) "$(ps -o rss= -p $PID)"
  sleep 20
done
wait $W2 || true
echo "ingestion: $(tail -1 "$DIR/ingest.txt")"
echo "recommend: $(tail -1 "$DIR/rec.txt")"
kill $PID; wait $PID 2>/dev/null || true
rm -rf "$DIR"
