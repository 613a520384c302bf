#!/usr/bin/env bash
# The long fuzzing run: every libFuzzer target (fuzz/) for a number of inputs, 10 M each by default; prints per
# target the inputs run, the seconds taken and the crashes (BENCHMARKS.md, "Fuzzing"). One target at a time, one
# core; a crash stops that target (its input is in build/fuzz/artifacts/<target>/) and the run goes on.
#
#   bench/fuzz_bench.sh [INPUTS-PER-TARGET] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-10000000}
[ $# -gt 0 ] && shift
FUZZ_RUNS=$RUNS exec scripts/fuzz.sh 0 "$@"
