#!/usr/bin/env bash
# A Redis master killed under a running `vane serve --cluster` node (docs/cluster.md): 3 masters + 3 replicas on
# loopback (cluster-node-timeout 2 s, no persistence), one node on the embedded demo data, a writer posting
# 100-event batches for 30 s. After 5 s the master that serves partition 0's stream is killed with SIGKILL; Redis
# promotes its replica by itself; after 15 s the killed server is started again (it rejoins as a replica).
# Reports the writer's failures (not acknowledged: the window in which writes were refused) and, reading every
# acknowledged batch back with its token, the acknowledged events missing. Run with WAIT=1 (default) and WAIT=0.
# Usage: [WAIT=1] bench/cluster_failover_bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
VANE=${VANE:-./build/release/apps/vane/vane}
WAIT=${WAIT:-1}
DIR=$(mktemp -d)
source tests/redis_cluster_lib.sh
PID=""
trap 'kill -9 ${PID:-} 2>/dev/null || true; stop_redis_cluster; rm -rf "$DIR"' EXIT
echo "# vane cluster failover benchmark | $(date -u +%FT%TZ) | $(nproc) cores | $(git rev-parse --short HEAD) | WAIT $WAIT"
start_redis_cluster "$DIR/redis"
"$VANE" serve --port 18501 --quiet --store "$DIR/store" --cluster "$CLUSTER_SEEDS" --cluster-prefix fo \
  --cluster-wait-replicas "$WAIT" --node-id n1 > "$DIR/n1.out" 2> "$DIR/n1.err" &
PID=$!
until grep -q listening "$DIR/n1.out" 2>/dev/null; do sleep 0.1; kill -0 $PID || { tail "$DIR/n1.err"; exit 1; }; done
# The master of partition 0's stream ({fo:p0}:log).
SEED=${CLUSTER_SEEDS%%,*}
SLOT=$(redis-cli -h 127.0.0.1 -p "${SEED##*:}" cluster keyslot "{fo:p0}:log")
MASTER=$(redis-cli -h 127.0.0.1 -p "${SEED##*:}" cluster slots | awk -v s="$SLOT" '
  /^[0-9]+$/ { n++; v[n] = $1 } END {}' >/dev/null; redis-cli -h 127.0.0.1 -p "${SEED##*:}" cluster nodes |
  awk -v s="$SLOT" '$3 ~ /master/ { for (i = 9; i <= NF; i++) { split($i, r, "-"); if (s >= r[1] && s <= (r[2] == "" ? r[1] : r[2])) { split($2, a, "@"); print a[1] } } }')
MPORT=${MASTER##*:}
MPID=$(redis-cli -h 127.0.0.1 -p "$MPORT" info server | tr -d '\r' | awk -F: '$1 == "process_id" { print $2 }')
echo "partition 0 (slot $SLOT) is on $MASTER (pid $MPID)"
/usr/bin/python3 bench/cluster_writer.py write http://127.0.0.1:18501 30 fo "$DIR/acks.txt" &
W=$!
sleep 5
kill -9 "$MPID"
echo "killed $MASTER at 5 s"
sleep 10
redis-server --port "$MPORT" --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file "$DIR/redis/$MPORT/nodes.conf" \
  --cluster-node-timeout 2000 --dir "$DIR/redis/$MPORT" --appendonly no --save "" --logfile "$DIR/redis/$MPORT/redis.log" &
REDIS_PIDS+=($!)
echo "restarted $MASTER at 15 s"
wait $W
/usr/bin/python3 bench/cluster_writer.py check http://127.0.0.1:18501 "$DIR/acks.txt" || true
curl -s http://127.0.0.1:18501/v1/stats | /usr/bin/python3 -c 'import json,sys; s=json.load(sys.stdin); print("node:", s["events"], "events; lag", s["cluster"]["lag_ms"], "ms; error", repr(s["cluster"]["error"]))'
