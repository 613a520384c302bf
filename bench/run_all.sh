#!/usr/bin/env bash
# Reproduces every figure in BENCHMARKS.md. Needs the public datasets in ../shared/datasets (see README) and a
# Release build (scripts/build.sh). Writes JSON, SVG plots and a log into out/bench/.
set -euo pipefail
cd "$(dirname "$0")/.."
D=${VANE_DATASETS:-../shared/datasets}
V=./build/release/apps/vane/vane
B=./build/release/bench/vane_bench
O=out/bench
mkdir -p "$O"
run() { echo "\$ $*"; "$@"; echo; }
{
  run $V eval --format pairs --input $D/ml-1m/ml-1m_sasrec.txt --quiet --json $O/ml1m.json --plot $O/ml1m.svg
  run $V eval --format sequences --input $D/s3rec-beauty/Beauty.txt --quiet --json $O/beauty.json --plot $O/beauty.svg
  run $V eval --format ml-csv --input $D/ml-latest-small/ratings.csv --quiet --json $O/ml-latest-small.json --plot $O/ml-latest-small.svg
  run $V eval --format ml-100k --input $D/ml-100k/u.data --quiet --json $O/ml100k.json --plot $O/ml100k.svg --stream-every 1
  run $V eval --format ml-100k --input $D/ml-100k/u.data --protocol temporal --quiet --json $O/ml100k-temporal.json
  run $B ingest --format pairs --input $D/ml-1m/ml-1m_sasrec.txt
  run $B latency --format pairs --input $D/ml-1m/ml-1m_sasrec.txt
  run $B latency --scale 1000000
  run $V capture --seed 42 --json $O/capture-seed42.json
  run $V capture --seed 7 --json $O/capture-seed7.json
  run $V capture --seed 42 --noise 0.2 --json $O/capture-noise20.json
} 2>&1 | tee $O/log.txt
