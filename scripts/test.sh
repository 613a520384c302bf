#!/usr/bin/env bash
# The whole test suite: install dependencies, build everything, run every test with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh
ctest --test-dir build/release --output-on-failure -j "$(nproc)"
# The Debian package: built, installed with dpkg -i, started as its systemd unit would, purged (needs root).
if [ "$(id -u)" -eq 0 ] || sudo -n true 2>/dev/null; then
  scripts/package_test.sh
else
  echo "package test skipped: it installs the package, which needs root or sudo"
fi
