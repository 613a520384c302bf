#!/usr/bin/env bash
# What the server delivers is what the evaluator measures: `vane eval --strict --save-blend` on generated data, then
# `vane serve --catalogue-only --blend` and `vane replay` over loopback; served HR@10 and NDCG@10 within 2% of the
# evaluator's. Usage: replay_test.sh path/to/vane
set -u
VANE="$1"
TMP=$(mktemp -d)
source "$(dirname "$0")/serve_lib.sh"
cleanup() { [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
"$VANE" generate --out "$TMP/gen" --users 150 > /dev/null || { echo "FAIL generate"; exit 1; }
"$VANE" eval --format vane --input "$TMP/gen" --quiet --strict --save-blend "$TMP/blend.json" --json "$TMP/eval.json" > /dev/null \
  || { echo "FAIL eval"; exit 1; }
start_server "$VANE" "$TMP/serve.out" "$TMP/serve.err" --format vane --input "$TMP/gen" --store "$TMP/store" \
  --catalogue-only --blend "$TMP/blend.json" --diversity 0 ${REPLAY_SERVE_ARGS:-} || exit 1
out=$("$VANE" replay --format vane --input "$TMP/gen" --server "http://127.0.0.1:$PORT" --compare "$TMP/eval.json" \
  --quiet --json "$TMP/replay.json" 2>&1) || { echo "FAIL replay: $out"; exit 1; }
echo "$out"
kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; PID=""
# The CLI and the server, given the same data, blend and time, answer the same top-10.
start_server "$VANE" "$TMP/serve2.out" "$TMP/serve2.err" --format vane --input "$TMP/gen" --store "$TMP/store2" \
  --blend "$TMP/blend.json" || exit 1
now=$(python3 -c "import json; print(max(json.loads(l)['ts'] for l in open('$TMP/gen/events.jsonl')) + 60)")
same=0
for u in u1 u7 u42 u99 newcomer; do
  cli=$("$VANE" recommend --format vane --input "$TMP/gen" --user "$u" -n 10 --json --quiet --blend "$TMP/blend.json" --now "$now" 2>/dev/null \
        | python3 -c "import json,sys; print([x['id'] for x in json.load(sys.stdin)['items']])")
  srv=$(curl -s "http://127.0.0.1:$PORT/v1/recommend/$u?n=10&now=$now" | python3 -c "import json,sys; print([x['id'] for x in json.load(sys.stdin)['items']])")
  if [ "$cli" = "$srv" ]; then same=$((same+1)); else echo "FAIL cli-equals-server $u: $cli vs $srv"; fi
done
[ "$same" = 5 ] || exit 1
echo "ok   cli-equals-server (5 users, same top-10)"
python3 - "$TMP/replay.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
bad = []
for k in ("hr@10", "ndcg@10"):
    served, ev = r[k], r["eval"][k]
    rel = abs(served - ev) / ev if ev > 0 else 1
    print(f"{k}: served {served:.4f} eval {ev:.4f} ({rel*100:.1f}%)")
    if ev <= 0 or rel > 0.02: bad.append(k)
if r["users"] < 100: bad.append("users")
sys.exit(1 if bad else 0)
PY
