#!/usr/bin/env bash
# Builds the Debian package of vane (CPack, cmake/packaging.cmake) from the release build:
# build/release/vane_<version>_amd64.deb. Usage: scripts/package.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh vane
(cd build/release && cpack -G DEB >/dev/null)
ls build/release/vane_*_*.deb
