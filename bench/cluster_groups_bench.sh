#!/usr/bin/env bash
# Node groups, first step (docs/cluster.md, "Node groups"): the accuracy users get and the memory each node holds
# when the user state is split over 2 groups, against one group, measured through the running nodes.
# A real Redis Cluster (3 masters + 3 replicas, Debian's redis-server, loopback) and `vane serve --cluster` nodes:
#   1. one group: one node; `vane replay` plays the leave-one-out protocol of `vane eval` into it over HTTP;
#   2. two groups: nodes of group 0 and group 1; the replay goes to the group-0 node, which appends every event to
#      the log and redirects (307) each recommendation for a group-1 user to the group-1 node.
# Both start from the catalogue only with the blend `vane eval --save-blend` fitted on the same data.
# Printed: HR@10 / NDCG@10 served, users and events each node holds, its state bytes and resident memory.
# Usage: bench/cluster_groups_bench.sh [DATASET]  (ml-latest-small, the default, or ml-100k or ml-1m)
set -euo pipefail
cd "$(dirname "$0")/.."
V=${VANE:-./build/release/apps/vane/vane}
D=${VANE_DATASETS:-../shared/datasets}
name=${1:-ml-latest-small}
case $name in
  ml-100k) fmt=ml-100k; in=$D/ml-100k/u.data ;;
  ml-latest-small) fmt=ml-csv; in=$D/ml-latest-small/ratings.csv ;;
  ml-1m) fmt=pairs; in=$D/ml-1m/ml-1m_sasrec.txt ;;
  *) echo "unknown dataset $name"; exit 2 ;;
esac
# shellcheck source=../tests/redis_cluster_lib.sh
source tests/redis_cluster_lib.sh
DIR=$(mktemp -d)
NODE_PIDS=()
cleanup() {
  for p in "${NODE_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  stop_redis_cluster
  wait 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT
echo "# node groups | $(date -u +%FT%TZ) | $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs) | $(git rev-parse --short HEAD) | $name"
echo "\$ vane eval --format $fmt --input $in --strict --save-blend blend.json"
"$V" eval --format "$fmt" --input "$in" --quiet --strict --save-blend "$DIR/blend.json" --json "$DIR/eval.json" | grep -E '^blend '
start_redis_cluster "$DIR/redis"
PORT=$((18400 + RANDOM % 500))
# node NAME PREFIX GROUPS GROUP: starts a node on the next port (NODE_PORT; its pid last in NODE_PIDS).
node() {
  local port=$PORT; PORT=$((PORT + 1)); NODE_PORT=$port
  "$V" serve --format "$fmt" --input "$in" --store "$DIR/$1" --catalogue-only --blend "$DIR/blend.json" --port "$port" \
    --quiet --cluster "$CLUSTER_SEEDS" --cluster-prefix "$2" --groups "$3" --group "$4" --node-id "$1" \
    --snapshot-every 0 > "$DIR/$1.out" 2> "$DIR/$1.err" &
  NODE_PIDS+=($!)
  until grep -q listening "$DIR/$1.out" 2>/dev/null; do sleep 0.2; kill -0 "${NODE_PIDS[-1]}" || { tail "$DIR/$1.err" >&2; exit 1; }; done
}
# held NAME PORT PID: what a node holds.
held() {
  /usr/bin/python3 - "$1" "$2" "$3" <<'PY'
import json, sys, urllib.request
name, port, pid = sys.argv[1:]
s = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/stats"))
rss = next(int(l.split()[1]) for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS"))
print(f"{name}: users {s['users']}, events {s['events']}, state {s.get('state_bytes', 0) / 1e6:.1f} MB, RSS {rss / 1024:.0f} MB")
PY
}
replay() {
  echo "\$ vane replay --format $fmt --input $in --server http://127.0.0.1:$1 --compare eval.json"
  local t0; t0=$(date +%s.%N)
  "$V" replay --format "$fmt" --input "$in" --server "http://127.0.0.1:$1" --compare "$DIR/eval.json" --quiet --json "$DIR/$2.json"
  echo "replay took $(awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $t0}") s"
}
echo "## one group"
node one one 1 0; p1=$NODE_PORT
replay "$p1" one
held one "$p1" "${NODE_PIDS[-1]}"
kill "${NODE_PIDS[-1]}"; wait "${NODE_PIDS[-1]}" 2>/dev/null || true
echo "## two groups (replay through the group-0 node)"
node g0 two 2 0; pa=$NODE_PORT; ida=${NODE_PIDS[-1]}
node g1 two 2 1; pb=$NODE_PORT; idb=${NODE_PIDS[-1]}
replay "$pa" two
held g0 "$pa" "$ida"
held g1 "$pb" "$idb"
