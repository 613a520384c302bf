#!/usr/bin/env bash
# Restart time of `vane serve` over a long event log, with and without a state snapshot: from process start to
# /api/health/ready answering 200.
#
# The store: ML-1M (../shared/datasets/ml-1m/ml-1m_sasrec.txt, 999,611 interactions, titles and genres from
# movies.dat) copied with the users renamed (c0_1, c1_1, ...) until EVENTS events, the seed of a first start (the
# service's own seed path writes it to the store in batches of 10,000); that start fills the store and replays
# it. Then, each from a stopped server:
#   1. restart from the snapshot written at the orderly stop (SIGTERM) of the first start;
#   2. restart with the snapshots moved away: a full replay of the log;
#   3. TAIL events posted through the API after a restart, the server killed (-9, no snapshot at stop), restarted:
#      the snapshot plus a replay of the tail.
# Usage: [EVENTS=10000000] [TAIL=200000] bench/restart_bench.sh
# The machine's 2 cores are shared with whatever else runs: figures are wall-clock seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
VANE=${VANE:-./build/release/apps/vane/vane}
SRC=../shared/datasets/ml-1m
EVENTS=${EVENTS:-10000000}
TAIL=${TAIL:-200000}
PORT=${PORT:-18193}
WORK=$(mktemp -d)
STORE=$WORK/store
PID=
cleanup() {
  [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
now() { date +%s.%N; }
secs() { awk "BEGIN{printf \"%.2f\", $2 - $1}"; }

echo "# vane serve restart benchmark | $(date -u +%FT%TZ) | $(nproc) cores:$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2) | $(free -g | awk '/Mem:/{print $2}') GiB | $(git rev-parse --short HEAD)"
mkdir -p "$WORK/data"
ln -s "$(realpath $SRC/movies.dat)" "$WORK/data/movies.dat"
ln -s "$(realpath $SRC/sas_to_original_items.txt)" "$WORK/data/sas_to_original_items.txt"
left=$EVENTS copies=0
while [ "$left" -gt 0 ]; do
  awk -v c=$copies -v max="$left" 'NR > max { exit } { print "c" c "_" $1, $2 }' $SRC/ml-1m_sasrec.txt
  left=$((left - 999611)) copies=$((copies + 1))
done > "$WORK/data/events.txt"
echo "seed: $(wc -l < "$WORK/data/events.txt") events ($copies copies of ML-1M, users renamed per copy)"

# Starts the server (extra flags in "$@"), waits until /api/health/ready is 200; T = the seconds it took.
start() {
  local t0 t1
  t0=$(now)
  "$VANE" serve --store "$STORE" --port $PORT --no-fit --quiet "$@" > "$WORK/out.log" 2>> "$WORK/err.log" &
  PID=$!
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/api/health/ready")" = 200 ]; do
    kill -0 $PID 2>/dev/null || { tail "$WORK/err.log"; exit 1; }
    sleep 0.05
  done
  t1=$(now)
  T=$(secs "$t0" "$t1")
}
# Orderly stop (SIGTERM): the server writes a snapshot of what it holds before it exits.
stop() {
  kill -TERM $PID
  wait $PID 2>/dev/null || true
  PID=
}
crash() {
  kill -9 $PID
  wait $PID 2>/dev/null || true
  PID=
}
snapdir() { echo "$STORE/snapshots"; }
snapinfo() { ls -l "$(snapdir)"/*.vsnap 2>/dev/null | awk '{printf "%s %.0f MB\n", $NF, $5 / 1e6}' | sed "s|$STORE/||"; }

start --format pairs --input "$WORK/data/events.txt"; t=$T
echo "first start (seed $EVENTS events into the store, replay): $t s, resident $(ps -o rss= -p $PID | awk '{printf "%.0f", $1/1024}') MiB"
t0=$(now); stop; t1=$(now)
echo "orderly stop with a snapshot: $(secs "$t0" "$t1") s; $(grep -m1 'snapshot: wrote' "$WORK/err.log" || echo 'no snapshot line')"
echo "store: $(du -sm "$STORE" | cut -f1) MB in all; snapshots: $(snapinfo | tr '\n' ' ')"

for k in 1 2 3; do
  start; t=$T
  echo "restart $k from the snapshot: $t s to ready, resident $(ps -o rss= -p $PID | awk '{printf "%.0f", $1/1024}') MiB"
  [ $k = 1 ] && curl -s "http://127.0.0.1:$PORT/v1/stats"; echo
  stop
done
grep "snapshot: loaded" "$WORK/err.log" | tail -1

mv "$(snapdir)" "$WORK/snapshots.aside"
start; t=$T
echo "restart without a snapshot (full replay of $EVENTS events): $t s to ready"
crash
rm -rf "$(snapdir)"; mv "$WORK/snapshots.aside" "$(snapdir)"

start; t=$T
echo "restart from the snapshot: $t s; posting $TAIL events through the API"
VANE_BATCH=1000 wrk -t2 -c4 -d600s -s bench/wrk/ingest.lua "http://127.0.0.1:$PORT" > /dev/null 2>&1 &
WRK=$!
until [ "$(curl -s "http://127.0.0.1:$PORT/v1/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["events"])')" -ge $((EVENTS + TAIL)) ]; do sleep 0.5; done
kill $WRK; wait $WRK 2>/dev/null || true
posted=$(curl -s "http://127.0.0.1:$PORT/v1/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["events"])')
crash
start; t=$T
echo "restart after kill -9 with $((posted - EVENTS)) events after the snapshot: $t s to ready"
grep "snapshot: loaded" "$WORK/err.log" | tail -1
stop
