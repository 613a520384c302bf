#!/usr/bin/env bash
# vane cluster nodes on a Redis Cluster (docs/cluster.md), all on this machine: 3 masters + 3 replicas (Debian
# redis-server 7.0, no persistence, cluster-node-timeout 2 s) and 1 to 3 `vane serve --cluster` nodes, each
# seeded with ML-1M. Measures:
#   1. recommendations/s with 1, 2 and 3 nodes (one wrk per node, as fast as possible, 15 s) and durable
#      ingestion (batches of 1,000 new events through every node at once, WAIT 1, 15 s);
#   2. recommend p99 at 1,000 req/s spread over 3 nodes (30 s);
#   3. the replication lag (the wall clock minus the log's watermark) sampled every 50 ms on a node that takes no
#      writes while the others ingest;
#   4. kill -9 of a vane node during ingestion: the writers of the other nodes go on; every acknowledged batch is
#      then read on a surviving node with its token (events missing); the node restarts from the newest cluster
#      snapshot and catches up (time);
#   5. a fourth node joining the running cluster from the snapshot: time to serve, and its answers against node 1.
# wrk, the writers, Redis and the nodes share the machine's cores: the figures are for all of them together.
# Usage: bench/cluster_nodes_bench.sh   (VANE=path/to/vane; DATA=ML-1M pairs file)
set -euo pipefail
cd "$(dirname "$0")/.."
VANE=${VANE:-./build/release/apps/vane/vane}
DATA=${DATA:-../shared/datasets/ml-1m/ml-1m_sasrec.txt}
DIR=$(mktemp -d)
PIDS=()
NODE_PIDS=()
cleanup() {
  for p in "${NODE_PIDS[@]}" "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT
echo "# vane cluster nodes benchmark | $(date -u +%FT%TZ) | $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs) | $(git rev-parse --short HEAD) | load $(cut -d' ' -f1-3 /proc/loadavg)"
ADDRS=()
for port in 17301 17302 17303 17304 17305 17306; do
  mkdir -p "$DIR/r$port"
  redis-server --port $port --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file "$DIR/r$port/nodes.conf" \
    --cluster-node-timeout 2000 --dir "$DIR/r$port" --appendonly no --save "" --logfile "$DIR/r$port/redis.log" &
  PIDS+=($!)
  ADDRS+=(127.0.0.1:$port)
done
for port in 17301 17302 17303 17304 17305 17306; do until redis-cli -p $port ping 2>/dev/null | grep -q PONG; do sleep 0.1; done; done
redis-cli --cluster create "${ADDRS[@]}" --cluster-replicas 1 --cluster-yes > "$DIR/create.log"
for port in 17301 17302 17303; do until redis-cli -p $port cluster info | grep -q cluster_state:ok; do sleep 0.2; done; done
sleep 2
SEEDS=127.0.0.1:17301,127.0.0.1:17302,127.0.0.1:17303
node_port() { echo $((18300 + $1)); }
# start_node K [PREFIX]: a node on port 18300+K; waits until it listens and prints its start-up time.
start_node() {
  local k=$1 prefix=${2:-bench} port; port=$(node_port "$1")
  local t0; t0=$(date +%s.%N)
  "$VANE" serve --format pairs --input "$DATA" --store "$DIR/n$k-$prefix" --port "$port" --quiet \
    --cluster "$SEEDS" --cluster-prefix "$prefix" --cluster-wait-replicas 1 --node-id "n$k" \
    --snapshot-every 500000 > "$DIR/n$k.out" 2> "$DIR/n$k.err" &
  NODE_PIDS[$k]=$!
  until grep -q listening "$DIR/n$k.out" 2>/dev/null; do
    sleep 0.1
    kill -0 "${NODE_PIDS[$k]}" 2>/dev/null || { tail "$DIR/n$k.err"; exit 1; }
  done
  echo "node n$k ($prefix) serving after $(awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $t0}") s$(grep -m1 'cluster: loaded' "$DIR/n$k.err" | sed 's/^cluster:/;/' || true)"
}
stop_nodes() { for k in "${!NODE_PIDS[@]}"; do kill "${NODE_PIDS[$k]}" 2>/dev/null || true; wait "${NODE_PIDS[$k]}" 2>/dev/null || true; done; NODE_PIDS=(); }
# Waits for the background jobs that are neither Redis nor a node (wrk, the writers).
wait_wrk() { for j in $(jobs -p); do case " ${NODE_PIDS[*]} ${PIDS[*]} " in *" $j "*) ;; *) wait "$j" ;; esac; done; }
rps() { grep -E '^Requests/sec' | awk '{printf "%.0f", $2}'; }

echo "## 1. throughput with 1, 2 and 3 nodes (a fresh log per row)"
echo "| nodes | recommend req/s (sum) | per node | durable ingestion events/s (sum, WAIT 1) | per node |"
echo "|---|---|---|---|---|"
for n in 1 2 3; do
  for k in $(seq 1 $n); do start_node "$k" "t$n" > /dev/null; done
  for k in $(seq 1 $n); do
    VANE_RATE=1000000 VANE_THREADS=1 VANE_USERS=6040 wrk -t1 -c4 -d15s -s bench/wrk/recommend.lua "http://127.0.0.1:$(node_port "$k")" > "$DIR/rec$k.txt" &
  done
  wait_wrk
  rec=0; for k in $(seq 1 $n); do rec=$((rec + $(rps < "$DIR/rec$k.txt"))); done
  for k in $(seq 1 $n); do
    VANE_TAG="t$n-n$k" VANE_BATCH=1000 wrk -t1 -c2 -d15s -s bench/wrk/ingest.lua "http://127.0.0.1:$(node_port "$k")" > "$DIR/ing$k.txt" &
  done
  wait_wrk
  ing=0; for k in $(seq 1 $n); do ing=$((ing + $(rps < "$DIR/ing$k.txt") * 1000)); done
  echo "| $n | $rec | $((rec / n)) | $ing | $((ing / n)) |"
  stop_nodes
done

echo "## 2-5 on one 3-node cluster (prefix main)"
for k in 1 2 3; do start_node "$k" main; done
echo "## 2. recommend paced at 1,000 req/s over 3 nodes (334 each) for 30 s"
for k in 1 2 3; do
  VANE_RATE=334 VANE_THREADS=1 VANE_USERS=6040 wrk -t1 -c4 -d30s --latency -s bench/wrk/recommend.lua "http://127.0.0.1:$(node_port "$k")" > "$DIR/p$k.txt" &
done
wait_wrk
for k in 1 2 3; do echo "node n$k: $(tail -1 "$DIR/p$k.txt")"; done

echo "## 3+4. ingestion through n1 and n2 (writers of 100-event batches), lag sampled on n3, n2 killed with -9 after 10 s"
/usr/bin/python3 bench/cluster_writer.py lag "http://127.0.0.1:$(node_port 3)" 25 "$DIR/lag.txt" &
LAGP=$!
/usr/bin/python3 bench/cluster_writer.py write "http://127.0.0.1:$(node_port 1)" 25 w1 "$DIR/acks1.txt" &
W1=$!
/usr/bin/python3 bench/cluster_writer.py write "http://127.0.0.1:$(node_port 2)" 25 w2 "$DIR/acks2.txt" &
W2=$!
sleep 10
kill -9 "${NODE_PIDS[2]}"; wait "${NODE_PIDS[2]}" 2>/dev/null || true
echo "n2 killed with -9 at 10 s"
sleep 3
start_node 2 main
t_restart=$(date +%s.%N)
wait $W1 $W2 $LAGP
sort -n "$DIR/lag.txt" | awk '{a[NR]=$1} END {printf "lag on n3 (ms, %d samples): p50 %.0f, p99 %.0f, max %.0f\n", NR, a[int(NR*0.5)+1], a[int(NR*0.99)], a[NR]}'
# n2 caught up: its position equals n1's once both are quiet.
sleep 1
until [ "$(curl -s "http://127.0.0.1:$(node_port 2)/v1/stats" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["cluster"]["position"])')" = \
        "$(curl -s "http://127.0.0.1:$(node_port 1)/v1/stats" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["cluster"]["position"])')" ]; do sleep 0.2; done
echo "n2 at n1's position $(awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $t_restart}") s after it was serving again (this includes waiting for the writers to stop, and 1 s)"
/usr/bin/python3 bench/cluster_writer.py check "http://127.0.0.1:$(node_port 3)" "$DIR/acks1.txt" "$DIR/acks2.txt" || true
curl -s "http://127.0.0.1:$(node_port 1)/v1/stats" | /usr/bin/python3 -c 'import json,sys; s=json.load(sys.stdin); print("n1:", s["events"], "events;", json.dumps(s["cluster"]))'

echo "## 5. a fourth node joins"
start_node 4 main
# n4 is asked with n1's position (X-Vane-Position): it answers once it has applied as much of the log as n1.
POS=$(curl -s "http://127.0.0.1:$(node_port 1)/v1/stats" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["cluster"]["position"])')
same=0; total=0
for u in $(seq 1 200); do
  a=$(curl -s "http://127.0.0.1:$(node_port 1)/v1/recommend/$u?n=10" | /usr/bin/python3 -c 'import json,sys; print([i["id"] for i in json.load(sys.stdin)["items"]])')
  b=$(curl -s -H "X-Vane-Position: $POS" "http://127.0.0.1:$(node_port 4)/v1/recommend/$u?n=10" | /usr/bin/python3 -c 'import json,sys; print([i["id"] for i in json.load(sys.stdin)["items"]])')
  total=$((total + 1)); [ "$a" = "$b" ] && same=$((same + 1))
done
echo "n4 and n1 give the same top 10 for $same of $total users"
for k in 1 2 3 4; do grep -h "cluster: wrote snapshot" "$DIR/n$k.err" | tail -2 | sed "s/^/n$k: /"; done
stop_nodes
