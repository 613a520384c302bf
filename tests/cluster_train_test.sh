#!/usr/bin/env bash
# One trainer in a cluster, with the real trainer (libtorch) on the embedded demo data (docs/cluster.md, "One
# trainer"): a real 3+3 Redis Cluster on loopback and `vane serve --cluster` nodes. Node A trains on demand; node
# B, asked meanwhile, answers 409 training_elsewhere; once A serves the new version, B serves it too without
# training, and a node started afterwards loads it at start. Then B trains v2 after new events and A and C adopt it,
# under the same version name. Each node keeps its versions in its own folder (<store>/models in cluster mode).
# Usage: tests/cluster_train_test.sh VANE WORKDIR
set -uo pipefail
VANE="$1"; TMP="$2"
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/serve_lib.sh"
source "$HERE/redis_cluster_lib.sh"
rm -rf "$TMP"; mkdir -p "$TMP"
PIDS=()
pass=0; fail=0
ok() { pass=$((pass+1)); echo "ok   $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1: $2"; }
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; stop_redis_cluster; wait 2>/dev/null; }
trap cleanup EXIT
cluster_serve_args 1 "$TMP" train || exit 1
# Every trained version serves (the promotion gate would keep a slightly worse second version as a candidate).
printf '[model]\npromotion_tolerance = 1\n' > "$TMP/vane.toml"
node() {  # node NAME: starts a node; sets PORT_<NAME>
  start_server "$VANE" "$TMP/$1.out" "$TMP/$1.err" --store "$TMP/$1" --node-id "$1" --train-epochs 2 --config "$TMP/vane.toml" "${CLUSTER_ARGS[@]}" || exit 1
  PIDS+=("$PID")
  printf -v "PORT_$1" '%s' "$PORT"
}
req() {  # req PORT METHOD PATH [BODY]: sets CODE and BODY
  local port="$1" m="$2" p="$3" d="${4:-}"
  BODY=$(curl -s -o - -w '\n%{http_code}' -X "$m" "http://127.0.0.1:$port$p" -H 'Content-Type: application/json' ${d:+--data-binary "$d"})
  CODE=$(tail -n1 <<<"$BODY"); BODY=$(sed '$d' <<<"$BODY")
}
expect() {  # expect NAME CODE PATTERN
  if [ "$CODE" != "$2" ]; then bad "$1" "status $CODE, want $2: ${BODY:0:300}"; return; fi
  if [ -n "$3" ] && ! grep -qE -- "$3" <<<"$BODY"; then bad "$1" "body lacks /$3/: ${BODY:0:300}"; return; fi
  ok "$1"
}
serves() {  # serves PORT VERSION [SECONDS]: true once the node's recommendations name VERSION
  for _ in $(seq 1 $((${3:-120} * 10))); do
    req "$1" GET '/v1/recommend/u1?n=3'
    grep -q "\"model_version\":\"$2\"" <<<"$BODY" && return 0
    sleep 0.1
  done
  return 1
}
node a; node b
req "$PORT_a" POST /v1/models/retrain '{}'; expect a-trains 202 '"training":"v1"'
req "$PORT_b" POST /v1/models/retrain '{}'; expect b-refused-while-a-trains 409 'training_elsewhere|training_in_progress'
if serves "$PORT_a" v1 120; then ok a-serves-v1; else bad a-serves-v1 "${BODY:0:300}"; fi
if serves "$PORT_b" v1 10; then ok b-adopts-v1; else bad b-adopts-v1 "${BODY:0:300}"; fi
req "$PORT_b" POST /v1/models/retrain '{}'; expect no-retrain-without-new-events 409 no_new_events
node c
if serves "$PORT_c" v1 10; then ok later-node-loads-v1; else bad later-node-loads-v1 "${BODY:0:300}"; fi
req "$PORT_a" POST /v1/events '[{"user":"u1","item":"i-hiking-tours-3","action":"view"}]'; expect new-event 200 '"accepted":1'
req "$PORT_b" POST /v1/models/retrain '{}'; expect b-trains-v2 202 '"training":"v2"'
if serves "$PORT_b" v2 120; then ok b-serves-v2; else bad b-serves-v2 "${BODY:0:300}"; fi
for n in a c; do
  p="PORT_$n"
  if serves "${!p}" v2 10; then ok "$n-adopts-v2"; else bad "$n-adopts-v2" "${BODY:0:300}"; fi
done
echo "cluster trainer: $pass passed, $fail failed"
[ "$fail" = 0 ]
