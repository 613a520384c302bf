#!/usr/bin/env bash
# Black-box checks of the vane CLI: exit codes, error messages, and that the main subcommands run end to end.
# Usage: cli_test.sh path/to/vane
set -u
VANE="$1"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
pass=0; fail=0
check() {  # check NAME EXPECTED_EXIT PATTERN -- command...
  local name="$1" want="$2" pattern="$3"; shift 4
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" -ne "$want" ]; then
    echo "FAIL $name: exit $rc, want $want"; echo "$out" | tail -5; fail=$((fail+1)); return
  fi
  if [ -n "$pattern" ] && ! grep -qE -- "$pattern" <<<"$out"; then
    echo "FAIL $name: output lacks /$pattern/"; echo "$out" | tail -5; fail=$((fail+1)); return
  fi
  echo "ok   $name"; pass=$((pass+1))
}

check help 0 "generate" -- "$VANE" --help
check no-subcommand 2 "subcommand" -- "$VANE"
check unknown-format 2 "unknown|format" -- "$VANE" eval --format nonsense --input /dev/null --quiet
check missing-input 2 "--input is required" -- "$VANE" eval --format pairs --quiet
check missing-file 1 "" -- "$VANE" import --format pairs --input "$TMP/nope.txt" --quiet
check generate 0 "wrote [0-9]+ items" -- "$VANE" generate --out "$TMP/gen" --users 40
check import-vane 0 "dataset .*: 40 users" -- "$VANE" import --format vane --input "$TMP/gen" --out "$TMP/clean"
printf '{"user":"u1","item":"x","action":"view","ts":1700000000}\n{"user":"","item":"x","action":"view","ts":1}\n{"user":"u2","item":"y","action":"teleport","ts":1700000000}\nnot json\n' > "$TMP/bad.jsonl"
check import-bad-skip 0 "rejected" -- "$VANE" import --format vane --input "$TMP/bad.jsonl"
check import-bad-fail 2 "bad.jsonl:2" -- "$VANE" import --format vane --input "$TMP/bad.jsonl" --on-error fail
check interests 0 "Now:|Usually:" -- "$VANE" interests --format vane --input "$TMP/gen" --user u1 --quiet
check interests-unknown-user 1 "not_found" -- "$VANE" interests --format vane --input "$TMP/gen" --user nobody --quiet
check recommend-json 0 '"strategy"' -- "$VANE" recommend --format vane --input "$TMP/gen" --user u1 --json --quiet
check recommend-new-user 0 "new_user" -- "$VANE" recommend --format vane --input "$TMP/gen" --user newcomer --quiet
check recommend-missing-user 2 "user" -- "$VANE" recommend --format vane --input "$TMP/gen"
check eval 0 "blend" -- "$VANE" eval --format vane --input "$TMP/gen" --quiet --json "$TMP/e.json"
check eval-json 0 '"ndcg@10"' -- cat "$TMP/e.json"
check tokenizer 0 "pieces, written to" -- "$VANE" tokenizer --format vane --input "$TMP/gen" --out "$TMP/sp.model" --quiet
check train 0 "test users [0-9]+ \| hr@10" -- "$VANE" train --format vane --input "$TMP/gen" --epochs 2 --out "$TMP/model" --quiet
check eval-model 0 "^model " -- "$VANE" eval --format vane --input "$TMP/gen" --model "$TMP/model" --quiet
check eval-model-mismatch 2 "trained on [0-9]+ items" -- "$VANE" eval --format pairs --input "$(dirname "$0")/fixtures/formats/pairs/plain.txt" --model "$TMP/model" --quiet
# The fitted blend is an artefact: eval writes it (creating the folder), recommend reads it; bad files are refused.
check eval-save-blend 0 "wrote the blend configuration" -- "$VANE" eval --format vane --input "$TMP/gen" --quiet --save-blend "$TMP/new/dir/blend.json" --json "$TMP/new/dir/e.json"
check blend-file 0 '"fitted": true' -- cat "$TMP/new/dir/blend.json"
check recommend-blend 0 '"strategy"' -- "$VANE" recommend --format vane --input "$TMP/gen" --user u1 --json --quiet --blend "$TMP/new/dir/blend.json"
echo '{"format":1,"base":{}}' > "$TMP/bad_blend.json"
check recommend-bad-blend 2 "base.popular" -- "$VANE" recommend --format vane --input "$TMP/gen" --user u1 --quiet --blend "$TMP/bad_blend.json"
# --now: the same user judged at two times; a bad value is refused.
last=$(python3 -c "
import json
print(max(json.loads(l)['ts'] for l in open('$TMP/gen/events.jsonl') if json.loads(l)['user'] == 'u1'))")
check interests-now-fresh 0 "Now:" -- "$VANE" interests --format vane --input "$TMP/gen" --user u1 --quiet --now "$((last + 30))"
check interests-now-later 0 "Nothing in particular right now|Usually:" -- "$VANE" interests --format vane --input "$TMP/gen" --user u1 --quiet --now "$((last + 86400))"
check interests-now-iso 0 "Now:|Usually:" -- "$VANE" interests --format vane --input "$TMP/gen" --user u1 --quiet --now 2026-06-01T00:00:00Z
check interests-bad-now 2 "--now: expected" -- "$VANE" interests --format vane --input "$TMP/gen" --user u1 --quiet --now yesterday
check demo 0 "because you searched" -- "$VANE" demo --users 60 --quiet
# What a newcomer meets: --version; a progress line while demo trains; requests the data cannot answer refused;
# every capture option described and --weights naming all its sources; ratings outside MovieLens's stars refused;
# a CSV of any layout read through --columns; the JSON reports of import and train written where asked.
check version 0 "^vane [0-9]+\.[0-9]+\.[0-9]+ \(" -- "$VANE" --version
check demo-progress 0 "epoch +1/2 \| loss" -- "$VANE" demo --users 60 --model-epochs 2
check recommend-n-zero 2 "n must be 1\.\.1000, got 0" -- "$VANE" recommend --format vane --input "$TMP/gen" --user u1 -n 0 --quiet
check recommend-unknown-type 1 "no item has type .nosuchtype." -- "$VANE" recommend --format vane --input "$TMP/gen" --user u1 --type nosuchtype --quiet
check recommend-unknown-category 1 "no item has category .nosuchcat." -- "$VANE" recommend --format vane --input "$TMP/gen" --user u1 --category nosuchcat --quiet
check capture-help-described 1 "" -- bash -c "'$VANE' capture --help | grep -E '^  --[a-z-]+ [A-Z]+( x [0-9]+)?(=[^ ]*)? *$'"
check capture-weights-names 0 "popular,covisit,content,interest_now,interest_long,item_knn,model" -- "$VANE" capture --help
printf '1::1::99::978300760\n1::2::4::978300761\n' > "$TMP/ratings.dat"
check ml1m-rating-range 0 "ratings.dat:1 +value +rating 99 is outside" -- "$VANE" import --format ml-1m --input "$TMP/ratings.dat"
printf 'uid;pid;kind;when\nu1;i1;view;2024-01-01T00:00:00Z\nu1;i2;purchase;2024-01-01T00:01:00Z\nu2;i1;;2024-01-01T00:02:00Z\nu3;i9;view;later\n' > "$TMP/ev.csv"
check import-csv-columns 0 "2 users, 2 items, 3 events" -- "$VANE" import --format csv --input "$TMP/ev.csv" --columns user=uid,item=pid,action=kind,ts=when --delimiter ';' --time-format iso8601 --default-action click --report-json "$TMP/rep/ev.json"
check import-csv-report 0 "not a time" -- cat "$TMP/rep/ev.json"
check import-csv-bad-column 2 "unknown field 'usr'" -- "$VANE" import --format csv --input "$TMP/ev.csv" --columns usr=uid
check import-csv-missing-column 2 "uid2" -- "$VANE" import --format csv --input "$TMP/ev.csv" --columns user=uid2,item=pid,action=kind --delimiter ';'
check train-json-folder 0 '"ndcg@10"' -- bash -c "'$VANE' train --format vane --input '$TMP/gen' --epochs 1 --out '$TMP/model2' --quiet --json '$TMP/tj/a/t.json' >/dev/null && cat '$TMP/tj/a/t.json'"
# vane store check / repair on a real store (`vane serve` writes it; its second start flushes the log into table
# files), then with CURRENT lost: serve refuses instead of creating a new store over the tables; repair saves them.
source "$(dirname "$0")/serve_lib.sh"
serve_once() {
  start_server "$VANE" "$TMP/serve.out" "$TMP/serve.err" --store "$TMP/st/store" --format vane --input "$TMP/gen" --no-fit || return 1
  kill "$PID"; wait "$PID" 2>/dev/null; return 0
}
if serve_once && serve_once; then
  events=$(grep -oE 'recovered [0-9]+ events' "$TMP/serve.err" | tail -1 | grep -oE '[0-9]+')
  check store-check-clean 0 "^clean" -- "$VANE" store check --store "$TMP/st/store"
  check store-check-counts 0 "events: $events \(positions 0\.\." -- "$VANE" store check --store "$TMP/st/store"
  rm "$TMP/st/store/CURRENT"
  check serve-refuses-lost-current 1 "CURRENT file is missing.*vane store repair" -- timeout 60 "$VANE" serve --port 0 --quiet --store "$TMP/st/store" --format vane --input "$TMP/gen" --no-fit
  check store-check-lost-current 1 "problem: CURRENT is missing" -- "$VANE" store check --store "$TMP/st/store"
  check store-repair 0 "saved: $events events" -- "$VANE" store repair --store "$TMP/st/store"
  check store-repair-backup 0 "\.sst" -- bash -c "ls $TMP/st/store.damaged-*/"
  check store-check-repaired 0 "^clean" -- "$VANE" store check --store "$TMP/st/store"
  check store-repair-nothing 1 "holds no store" -- "$VANE" store repair --store "$TMP/st/none"
else
  echo "FAIL store: vane serve did not start"; fail=$((fail+1))
fi
# `vane serve` configuration: every wrong setting is an error naming the file, line and key (or the variable or flag),
# exit 2, before the store is opened. (timeout: a server that starts anyway would run until killed.)
serve_cfg() {  # serve_cfg NAME PATTERN TOML [extra serve args...]
  local name="$1" pattern="$2" toml="$3"; shift 3
  printf '%b' "$toml" > "$TMP/$name.toml"
  check "serve-config-$name" 2 "$pattern" -- timeout 20 "$VANE" serve --config "$TMP/$name.toml" --store "$TMP/cfg-store" --port 0 --quiet "$@"
}
serve_cfg unknown-key "$TMP/unknown-key.toml:2: \\[server\\] prot: unknown setting" '[server]\nprot = 19122\n'
serve_cfg unknown-section "\\[sever\\]: unknown section" '[sever]\nport = 19122\n'
serve_cfg port-string "\\[server\\] port: expected an integer, got a string" '[server]\nport = "19122"\n'
serve_cfg threads-string "\\[server\\] threads: expected an integer" '[server]\nthreads = "many"\n'
serve_cfg body-negative "max_body_bytes: -1 is out of range" '[server]\nmax_body_bytes = -1\n'
serve_cfg idle-timeout-zero "idle_timeout_s: 0 is out of range" '[server]\nidle_timeout_s = 0\n'
serve_cfg streams-string "\\[server\\] max_streams: expected an integer" '[server]\nmax_streams = "many"\n'
serve_cfg port-range "port: 84676 is out of range 0..65535" '[server]\nport = 84676\n'
serve_cfg key-without-scope "\\[\\[keys\\]\\]: an entry has no scope" '[[keys]]\nkey = "k1"\n'
serve_cfg variant-share-string "variant 'a': share: expected a number" '[[variants]]\nname = "a"\nshare = "half"\n'
serve_cfg training-float "\\[training\\] epochs: expected an integer" '[training]\nepochs = 2.5\n'
check serve-flag-port-range 2 "--port: 84676 is out of range 0..65535" -- timeout 20 "$VANE" serve --store "$TMP/cfg-store" --port 84676 --quiet
check serve-env-port-not-a-number 2 "VANE_PORT: expected an integer, got 'abc'" -- env VANE_PORT=abc timeout 20 "$VANE" serve --store "$TMP/cfg-store" --quiet
check serve-env-keys-bad-scope 2 "VANE_API_KEYS: .*scope" -- env VANE_API_KEYS=k:root timeout 20 "$VANE" serve --store "$TMP/cfg-store" --port 0 --quiet
printf '# keys of this server\nk1:read\nk2\n' > "$TMP/keys.txt"
check serve-key-file-bad-line 2 "keys.txt:3: API key must be KEY:SCOPE" -- timeout 20 "$VANE" serve --api-key-file "$TMP/keys.txt" --store "$TMP/cfg-store" --port 0 --quiet
check serve-key-file-missing 2 "api-key-file .*cannot be read" -- timeout 20 "$VANE" serve --api-key-file "$TMP/nokeys.txt" --store "$TMP/cfg-store" --port 0 --quiet
if [ -e "$TMP/cfg-store" ]; then echo "FAIL serve-config-before-open: a refused configuration created the store"; fail=$((fail+1))
else echo "ok   serve-config-before-open"; pass=$((pass+1)); fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
