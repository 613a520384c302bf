#!/usr/bin/env bash
# The Redis Cluster client (vane_cluster) against redis-benchmark on the same cluster: 3 masters on loopback (Debian
# redis-server 7.0, no replicas, no persistence), SET then GET, one client, pipelines of 1 and 16 commands.
# redis-benchmark runs with -c 1 (one connection per node, like the client) and -P (its pipeline depth).
# Usage: [BENCH=build/release/bench/vane_cluster_bench] [OPS=200000] bench/cluster_bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH=${BENCH:-./build/release/bench/vane_cluster_bench}
OPS=${OPS:-200000}
DIR=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill $p 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$DIR"' EXIT
echo "# vane cluster client benchmark | $(date -u +%FT%TZ) | $(nproc) cores | $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs) | load average $(cut -d' ' -f1-3 /proc/loadavg)"
ADDRS=()
for port in 17101 17102 17103; do
  mkdir -p "$DIR/$port"
  redis-server --port $port --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file "$DIR/$port/nodes.conf" \
    --dir "$DIR/$port" --appendonly no --save "" --logfile "$DIR/$port/redis.log" &
  PIDS+=($!)
  ADDRS+=(127.0.0.1:$port)
done
for port in 17101 17102 17103; do until redis-cli -p $port ping 2>/dev/null | grep -q PONG; do sleep 0.1; done; done
redis-cli --cluster create "${ADDRS[@]}" --cluster-replicas 0 --cluster-yes > "$DIR/create.log"
for port in 17101 17102 17103; do until redis-cli -p $port cluster info | grep -q cluster_state:ok; do sleep 0.1; done; done
for P in 1 16; do
  echo "command: $BENCH --seed 127.0.0.1:17101 --ops $OPS --batch $P"
  "$BENCH" --seed 127.0.0.1:17101 --ops "$OPS" --batch $P
  echo "command: redis-benchmark --cluster -p 17101 -c 1 -P $P -n $OPS -r 1000000 -t set,get -q"
  redis-benchmark --cluster -p 17101 -c 1 -P $P -n "$OPS" -r 1000000 -t set,get -q 2>&1 | tr '\r' '\n' | grep 'requests per second'
done
