#!/usr/bin/env bash
# What `vane serve` delivers against what `vane eval` measures, on the same data, split and blend.
# For each dataset: `vane eval --strict --save-blend` (leave-one-out; the blend it fits is saved), then
# `vane serve --catalogue-only --blend <that file>` on an empty store, then `vane replay` plays the protocol into the
# server over HTTP and prints the served figures beside the evaluator's.
# Usage: bench/replay_parity.sh [DIVERSITY] [DATASET...]   DIVERSITY: the server's list diversity (default 0, the way
# `vane eval` ranks; 0.15 is the served default). DATASET: ml-100k, ml-latest-small, beauty, ml-1m (default: the first
# three). MODEL=<dir>: a `vane train` model of that dataset joins the blend on both sides. EVAL_FLAGS: more `vane eval`
# flags (EVAL_FLAGS=--ranker: the learned ranking stage is fitted, saved in the blend file and served). Needs ../shared/datasets
# and a Release build. Writes out/replay/<dataset>/.
set -euo pipefail
cd "$(dirname "$0")/.."
V=${VANE:-./build/release/apps/vane/vane}
D=${VANE_DATASETS:-../shared/datasets}
DIV=${1:-0}; shift || true
SETS=("$@"); [ ${#SETS[@]} -eq 0 ] && SETS=(ml-100k ml-latest-small beauty)
PORT=${PORT:-18301}
echo "# replay parity | $(date -u +%FT%TZ) | $(nproc) cores:$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2) | $(git rev-parse --short HEAD) | server diversity $DIV"
for name in "${SETS[@]}"; do
  case $name in
    ml-100k) fmt=ml-100k; in=$D/ml-100k/u.data ;;
    ml-latest-small) fmt=ml-csv; in=$D/ml-latest-small/ratings.csv ;;
    beauty) fmt=sequences; in=$D/s3rec-beauty/Beauty.txt ;;
    ml-1m) fmt=pairs; in=$D/ml-1m/ml-1m_sasrec.txt ;;
    *) echo "unknown dataset $name"; exit 2 ;;
  esac
  O=out/replay/$name; rm -rf "$O"; mkdir -p "$O"
  echo "## $name"
  echo "\$ vane eval --format $fmt --input $in --strict --save-blend $O/blend.json --json $O/eval.json ${EVAL_FLAGS:-}"
  # shellcheck disable=SC2086
  "$V" eval --format "$fmt" --input "$in" --quiet --strict --save-blend "$O/blend.json" --json "$O/eval.json" ${MODEL:+--model "$MODEL"} ${EVAL_FLAGS:-} | grep -E '^blend '
  echo "\$ vane serve --format $fmt --input $in --catalogue-only --blend $O/blend.json --diversity $DIV --store $O/store"
  "$V" serve --format "$fmt" --input "$in" --store "$O/store" --catalogue-only --blend "$O/blend.json" --diversity "$DIV" \
    --port "$PORT" --quiet ${MODEL:+--model "$MODEL"} > "$O/serve.out" 2> "$O/serve.err" &
  PID=$!
  until grep -q listening "$O/serve.out" 2>/dev/null; do sleep 0.2; kill -0 $PID || { tail "$O/serve.err"; exit 1; }; done
  echo "\$ vane replay --format $fmt --input $in --server http://127.0.0.1:$PORT --compare $O/eval.json"
  t0=$(date +%s.%N)
  "$V" replay --format "$fmt" --input "$in" --server "http://127.0.0.1:$PORT" --compare "$O/eval.json" --quiet --json "$O/replay.json"
  echo "replay took $(awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $t0}") s"
  kill $PID; wait $PID 2>/dev/null || true
done
