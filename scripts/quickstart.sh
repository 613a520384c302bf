#!/usr/bin/env bash
# The main job: install dependencies, build, generate the embedded demo data (bilingual catalogue, users with
# known intents), import it through the cleaning path and run the worked example on it: a user's live interests
# and recommendations with explanations.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh vane
VANE=./build/release/apps/vane/vane
$VANE generate --out data/demo
$VANE demo --format vane --input data/demo
