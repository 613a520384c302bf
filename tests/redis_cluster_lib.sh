# Shared by the black-box tests that run `vane serve --cluster` (sourced): a real Redis Cluster on loopback.
# start_redis_cluster DIR: 3 masters and 3 replicas of Debian's redis-server on free ports (no persistence),
# `redis-cli --cluster create`, then waits for cluster_state:ok on every node; sets CLUSTER_SEEDS ("127.0.0.1:port,...")
# and REDIS_PIDS. stop_redis_cluster kills them. Missing binaries are a failure, naming the package.
start_redis_cluster() {
  local dir="$1" port addrs=()
  command -v redis-server > /dev/null && command -v redis-cli > /dev/null ||
    { echo "redis-server and redis-cli are needed: apt-get install redis-server redis-tools"; return 1; }
  mkdir -p "$dir"
  REDIS_PIDS=()
  local ports
  # A cluster node also listens on its port + 10000 (the cluster bus): both must be free, and both below Linux's
  # ephemeral range (32768 and up), which outgoing connections of other tests draw from.
  ports=$(python3 -c 'import random, socket
def free(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
        return True
    except OSError:
        return False
    finally:
        s.close()
out = []
while len(out) < 6:
    p = random.randint(10000, 22700)
    if p not in out and free(p) and free(p + 10000):
        out.append(p)
print(" ".join(map(str, out)))')
  for port in $ports; do
    mkdir -p "$dir/$port"
    redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file "$dir/$port/nodes.conf" \
      --cluster-node-timeout 2000 --dir "$dir/$port" --appendonly no --save "" --logfile "$dir/$port/redis.log" &
    REDIS_PIDS+=($!)
    addrs+=("127.0.0.1:$port")
  done
  for port in $ports; do
    for _ in $(seq 1 100); do redis-cli -p "$port" ping 2>&1 | grep -q PONG && break; sleep 0.1; done
  done
  redis-cli --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes > "$dir/create.log" 2>&1 ||
    { tail -5 "$dir/create.log"; return 1; }
  for port in $ports; do
    for _ in $(seq 1 300); do redis-cli -p "$port" cluster info 2>/dev/null | grep -q cluster_state:ok && break; sleep 0.1; done
  done
  # Every replica linked to its master (a write waiting for a replica would otherwise fail at first).
  for _ in $(seq 1 300); do
    local linked=0
    for port in $ports; do
      redis-cli -p "$port" info replication 2>/dev/null | grep -q "master_link_status:up" && linked=$((linked + 1))
    done
    [ "$linked" -ge 3 ] && break
    sleep 0.1
  done
  CLUSTER_SEEDS=$(IFS=,; echo "${addrs[*]:0:3}")
}
stop_redis_cluster() { for p in "${REDIS_PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done; }
# cluster_serve_args ON WORK PREFIX: when ON is non-empty, starts a cluster under WORK/redis and sets CLUSTER_ARGS
# to the `vane serve` flags of a node on it (prefix PREFIX); otherwise leaves CLUSTER_ARGS empty.
cluster_serve_args() {
  CLUSTER_ARGS=()
  REDIS_PIDS=()
  [ -n "$1" ] || return 0
  rm -rf "$2/redis"
  start_redis_cluster "$2/redis"
  CLUSTER_ARGS=(--cluster "$CLUSTER_SEEDS" --cluster-prefix "$3")
}
