#!/usr/bin/env bash
# The main job: install dependencies, build, and run vane on the embedded generated data (the worked example:
# a user's live interests and recommendations with explanations).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh vane
./build/release/apps/vane/vane demo
