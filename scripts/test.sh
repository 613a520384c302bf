#!/usr/bin/env bash
# The whole test suite: install dependencies, build everything, run every test with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh
ctest --test-dir build/release --output-on-failure -j "$(nproc)"
