#!/usr/bin/env bash
# Runs the same benchmarks against two builds of vane, interleaved, RUNS times each, to tell a change's effect
# from run-to-run spread: in-process recommend latency and ingestion (vane_bench, ML-1M) and the HTTP service
# (bench/serve_bench.sh: paced recommend p99, peak recommend rate, durable ingestion, restart).
# Usage: bench/compare_builds.sh BEFORE_DIR AFTER_DIR [RUNS]   (each DIR holds `vane` and `vane_bench`)
# Prints one line per run and benchmark; log in out/bench/compare.log.
set -euo pipefail
cd "$(dirname "$0")/.."
BEFORE=$1 AFTER=$2 RUNS=${3:-3}
D=${VANE_DATASETS:-../shared/datasets}/ml-1m/ml-1m_sasrec.txt
mkdir -p out/bench
echo "# compare builds | $(date -u +%FT%TZ) | $(nproc) cores:$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2) | before $BEFORE | after $AFTER"
for r in $(seq 1 "$RUNS"); do
  for which in before after; do
    dir=$BEFORE; [ "$which" = after ] && dir=$AFTER
    lat=$("$dir/vane_bench" latency --format pairs --input "$D" 2>&1 | grep '^latency:')
    ing=$("$dir/vane_bench" ingest --format pairs --input "$D" 2>&1 | grep -iE 'events/s' | tail -1)
    srv=$(VANE="$dir/vane" bash bench/serve_bench.sh 2>&1)
    paced=$(echo "$srv" | grep -A1 'paced at 1,000' | tail -1)
    fast=$(echo "$srv" | grep -A1 'as fast as possible for 20 s' | tail -1)
    ingest=$(echo "$srv" | grep -A1 'durable ingestion' | tail -1)
    restart=$(echo "$srv" | grep 'restart after kill')
    echo "run $r $which | in-process $lat | ingest $ing"
    echo "run $r $which | http paced: $paced | http fast: $fast | http ingest: $ingest | $restart"
  done
done 2>&1 | tee out/bench/compare.log
