#!/usr/bin/env bash
# The main job: install dependencies, build, generate the embedded demo data (bilingual catalogue, users with
# known intents), import it through the cleaning path and run the worked example on it: a user's live interests
# and recommendations with explanations; then serve it over HTTP (`vane serve`, durable store in data/store).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh vane
VANE=./build/release/apps/vane/vane
$VANE generate --out data/demo
$VANE demo --format vane --input data/demo
echo
echo "Starting vane serve on the demo data (Ctrl-C to stop)."
echo "  Live dashboard: open http://127.0.0.1:8087/ in a browser (pick a user, search as them, watch the graph move)"
echo "  Or try:"
echo "  curl 'http://127.0.0.1:8087/v1/recommend/u0?n=5'"
echo "  curl -X POST http://127.0.0.1:8087/v1/events -d '[{\"user\":\"u0\",\"action\":\"search\",\"query\":\"trail running shoes\"}]'"
echo "  curl http://127.0.0.1:8087/v1/users/u0/interests"
exec $VANE serve --format vane --input data/demo --store data/store
