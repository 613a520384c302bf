#!/usr/bin/env bash
# Installs every build, test and run dependency of vane: Debian 12 packages, and the dashboard's npm packages
# (web/, pinned by its package-lock.json). Idempotent; needs root (or sudo). Nothing is downloaded at build or run time.
set -euo pipefail
cd "$(dirname "$0")/.."
PKGS=(build-essential cmake ninja-build
      nlohmann-json3-dev libcli11-dev libfmt-dev libsentencepiece-dev libhnswlib-dev
      libgtest-dev libbenchmark-dev
      libtorch-dev libopenblas0-openmp  # OpenBLAS replaces the reference BLAS libtorch would otherwise use
      librocksdb-dev libcpp-httplib-dev libtomlplusplus-dev pkg-config  # vane serve: store, HTTP, configuration
      libsimdjson-dev  # vane serve: POST /v1/events read without a JSON document (serve/http/event_body.h)
      libxgboost-dev  # the learned ranking stage: LambdaMART fitted on validation (src/eval/ranker_fit.cc)
      libhiredis-dev  # the Redis Cluster client (src/cluster/: hiredis speaks to each node, vane routes the slots)
      redis-server redis-tools  # the cluster tests start real redis-server nodes and join them with redis-cli
      curl python3  # the black-box service tests drive the real server with curl and read JSON with python3
      clang libclang-rt-dev llvm  # the fuzz targets (fuzz/): clang's libFuzzer and sanitizer runtimes, llvm-symbolizer
      chromium fonts-wqy-zenhei  # the dashboard's browser test (headless Chromium; a CJK font for Chinese text)
      systemd  # systemd-analyze verify of the package's unit (scripts/package_test.sh)
      prometheus  # promtool: the metrics test checks /metrics with Prometheus's own linter
      python3-jieba)  # its dict.txt and HMM tables: Chinese word segmentation (read by vane's C++, not by Python)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The gorsejs client test needs node and npm (npm installs the pinned client into the build folder). Any
# installed node will do (a NodeSource nodejs bundles npm and conflicts with Debian's npm package).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then missing+=(nodejs npm); fi
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# The dashboard's front-end packages (web/package-lock.json), bundled into the binary at build time.
if [ ! -d web/node_modules ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
  (cd web && npm ci --no-audit --no-fund --loglevel=error)
fi
