#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, CMake preset `fuzz`: clang, -fsanitize=fuzzer,address,undefined) and runs
# each for a time budget; prints a table (target, runs, seconds, crashes) and fails when any target crashed.
#
#   scripts/fuzz.sh [SECONDS-PER-TARGET] [TARGET...]      default 60 s, every target (names as in fuzz/*_fuzz.cc)
#   FUZZ_RUNS=N scripts/fuzz.sh 0 ...                     N inputs per target instead (bench/fuzz_bench.sh)
#
# Each target starts from its seed corpus fuzz/corpus/<target>/ (read only) plus a working corpus kept between
# runs in build/fuzz/corpus/<target>/, with the tokens of fuzz/dict/<target>.dict. A crashing input lands in
# build/fuzz/artifacts/<target>/ with the log in build/fuzz/logs/<target>.log: reproduce with
# build/fuzz/fuzz/<target>_fuzz <file>; once fixed, add the input to fuzz/corpus/<target>/ and a regression test to
# the unit tests.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-60}
[ $# -gt 0 ] && shift
RUNS=${FUZZ_RUNS:--1}
B=build/fuzz

t0=$(date +%s)
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "${FUZZ_JOBS:-$(nproc)}" --target fuzz_all | grep -v '^\[' || true
[ -x $B/fuzz/iso8601_fuzz ] || { echo "fuzz build failed" >&2; exit 1; }
echo "fuzz build: $(( $(date +%s) - t0 )) s"

if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for f in fuzz/*_fuzz.cc; do n=$(basename "$f" .cc); targets+=("${n%_fuzz}"); done
fi

failed=0
rows=()
for t in "${targets[@]}"; do
  bin=$B/fuzz/${t}_fuzz
  [ -x "$bin" ] || { echo "no fuzz target $t ($bin)" >&2; exit 2; }
  mkdir -p "$B/corpus/$t" "$B/artifacts/$t" "$B/logs"
  log=$B/logs/$t.log
  start=$(date +%s.%N)
  dict=()
  [ -f "fuzz/dict/$t.dict" ] && dict=(-dict="fuzz/dict/$t.dict")
  rc=0
  "$bin" -max_total_time="$SECONDS_PER_TARGET" -runs="$RUNS" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
         "${dict[@]}" -artifact_prefix="$B/artifacts/$t/" "$B/corpus/$t" "fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
  secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.0f", e - s }')
  runs=$(awk -F: '/stat::number_of_executed_units/ { gsub(/ /, "", $2); print $2 }' "$log" | tail -1)
  if [ -z "$runs" ]; then  # a crash ends the run before the final stats: take the last progress line
    runs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#' || true)
  fi
  crashes=0
  if [ "$rc" -ne 0 ]; then
    crashes=1
    failed=1
    echo "== $t crashed (exit $rc): $(ls -t "$B/artifacts/$t" | head -1)" >&2
    grep -E 'ERROR: |runtime error|fuzz invariant|SUMMARY' "$log" | head -5 >&2 || true
  fi
  rows+=("$(printf '%-14s %12s %8s %8s' "$t" "${runs:-?}" "$secs" "$crashes")")
done

printf '%-14s %12s %8s %8s\n' target runs seconds crashes
printf '%s\n' "${rows[@]}"
echo "total: $(( $(date +%s) - t0 )) s (build included)"
exit $failed
