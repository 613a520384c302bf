#!/usr/bin/env bash
# Crash test of `vane serve`: batches of 50 events (one new user per batch) stream in; the server is killed with
# kill -9 at a random moment; after the restart every acknowledged batch must be complete and an unacknowledged one
# all or nothing; the state after the restart must equal a fresh replay (two restarts give identical answers).
# Meanwhile batches of 2,000 new items stream in as well: after the restart the catalogue holds every acknowledged
# batch and no part of an unacknowledged one (its size grew by a multiple of 2,000).
# Usage: serve_crash.sh path/to/vane ROUNDS   (the CI suite runs 1 round; bench/crash_bench.sh runs many)
set -u
VANE="$1"; ROUNDS="${2:-1}"
TMP=$(mktemp -d)
PID=""
trap '[ -n "$PID" ] && kill -9 $PID 2>/dev/null; rm -rf "$TMP"' EXIT
source "$(dirname "$0")/serve_lib.sh"
start() { start_server "$VANE" "$TMP/out" "$TMP/err" --store "$TMP/store"; }
stat() { curl -s "http://127.0.0.1:$PORT/v1/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
count() {  # events of user $1 (0 when unknown)
  local b; b=$(curl -s "http://127.0.0.1:$PORT/v1/users/$1")
  python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(d.get('events', 0))" "$b"
}
start || exit 1
total_acked=0; next=1
for round in $(seq 1 "$ROUNDS"); do
  first=$next
  : > "$TMP/acked"
  : > "$TMP/items_acked"
  items_before=$(stat items)
  python3 -c "
import json, sys
for b in range(1, 41):
    items = [{'id': f'crash-item-$round-{b}-{k}', 'title': f'crash item {k}', 'categories': ['Crash']} for k in range(2000)]
    open(f'$TMP/items-{b}.json', 'w').write(json.dumps(items))"
  (
    for b in $(seq 1 40); do
      out=$(curl -s -X POST "http://127.0.0.1:$PORT/v1/items" -H "Content-Type: application/json" --data-binary "@$TMP/items-$b.json") || break
      grep -q '"stored":2000' <<<"$out" && echo "$b" >> "$TMP/items_acked"
    done
  ) &
  ITEMS=$!
  (
    for b in $(seq "$first" $((first + 999))); do
      ev=""
      for k in $(seq 1 50); do ev="$ev{\"user\":\"crash-$b\",\"item\":\"i-trail-running-$((k % 30))\",\"action\":\"view\",\"ts\":$((1790000000 + b * 100 + k))},"; done
      out=$(curl -s -X POST "http://127.0.0.1:$PORT/v1/events" --data-binary "[${ev%,}]") || break
      grep -q '"accepted":50' <<<"$out" && echo "$b" >> "$TMP/acked"
    done
  ) &
  STREAM=$!
  for _ in $(seq 1 300); do [ -s "$TMP/acked" ] && break; sleep 0.1; done
  sleep "0.$((RANDOM % 9 + 1))"
  kill -9 "$PID"; wait "$STREAM" 2>/dev/null; wait "$ITEMS" 2>/dev/null; wait "$PID" 2>/dev/null
  acked=$(wc -l < "$TMP/acked")
  items_acked=$(wc -l < "$TMP/items_acked")
  start || exit 1
  grew=$(( $(stat items) - items_before ))
  items_ok=yes
  { [ $((grew % 2000)) -eq 0 ] && [ "$grew" -ge $((items_acked * 2000)) ]; } || items_ok=no
  missing=0; partial=0; b=$first
  while :; do
    n=$(count "crash-$b")
    if grep -qx "$b" "$TMP/acked"; then [ "$n" = 50 ] || missing=$((missing+1))
    else { [ "$n" = 0 ] || [ "$n" = 50 ]; } || partial=$((partial+1)); [ "$n" = 0 ] && break; fi
    b=$((b + 1))
  done
  next=$b
  # The restarted state is a replay: a second restart must answer exactly the same.
  a=$(curl -s "http://127.0.0.1:$PORT/v1/recommend/crash-$first?n=10&now=1800000000")$(curl -s "http://127.0.0.1:$PORT/v1/stats" | python3 -c "import json,sys; d=json.load(sys.stdin); print(d['events'], d['users'], d['items'])")
  kill -9 "$PID"; wait "$PID" 2>/dev/null
  start || exit 1
  c=$(curl -s "http://127.0.0.1:$PORT/v1/recommend/crash-$first?n=10&now=1800000000")$(curl -s "http://127.0.0.1:$PORT/v1/stats" | python3 -c "import json,sys; d=json.load(sys.stdin); print(d['events'], d['users'], d['items'])")
  same=yes; [ "$a" = "$c" ] || same=no
  echo "round $round: acknowledged $acked, missing $missing, partial $partial, replay identical: $same;" \
       "item batches acknowledged $items_acked, catalogue grew by $grew (whole batches: $items_ok)"
  if [ "$acked" -eq 0 ] || [ "$missing" -ne 0 ] || [ "$partial" -ne 0 ] || [ "$same" != yes ] || [ "$items_ok" != yes ]; then
    echo "FAIL crash test"; exit 1
  fi
  total_acked=$((total_acked + acked))
done
echo "crash test: $ROUNDS rounds, $total_acked acknowledged batches, none lost"
