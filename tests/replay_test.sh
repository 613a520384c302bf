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
