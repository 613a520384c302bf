#!/usr/bin/env bash
# /metrics of the real `vane serve` as Prometheus reads it: Prometheus's own linter (`promtool check metrics`, Debian
# package prometheus) finds nothing (a HELP and TYPE for every family, counters named _total, ...), and the families
# an operator relies on are there: method and code labels (GET and DELETE of one route apart), counters of
# impressions, clicks and conversions instead of ratios, process_*, the build, the model as a version (not a path),
# the store's real size, requests for unknown routes counted and logged.
# Usage: prometheus_test.sh path/to/vane
set -u
VANE="$1"
TMP=$(mktemp -d)
source "$(dirname "$0")/serve_lib.sh"
trap 'kill -9 $PID 2>/dev/null; rm -rf "$TMP"' EXIT
command -v promtool >/dev/null || { echo "FAIL promtool is not installed (scripts/install_deps.sh installs prometheus)"; exit 1; }
pass=0; fail=0
ok() { echo "ok   $1"; pass=$((pass+1)); }
bad() { echo "FAIL $1: $2"; fail=$((fail+1)); }
has() {  # has NAME REGEX: the scraped text has a line matching REGEX
  if grep -qE -- "$2" "$TMP/metrics.txt"; then ok "$1"; else bad "$1" "no line /$2/"; fi
}

start_server "$VANE" "$TMP/serve.out" "$TMP/serve.err" --store "$TMP/store" || exit 1
B="http://127.0.0.1:$PORT"
curl -s "$B/v1/recommend/u1?n=3" >/dev/null
curl -s -X DELETE "$B/v1/users/nobody-here" >/dev/null
curl -s "$B/v1/users/nobody-here" >/dev/null
curl -s "$B/api/no/such/route" >/dev/null
for t in impression impression click conversion; do
  curl -s -X POST "$B/v1/feedback" -H 'Content-Type: application/json' \
       -d "{\"user\":\"u1\",\"item\":\"i-trail-running-1\",\"type\":\"$t\",\"strategy\":\"stable_taste\",\"source\":\"covisit\"}" >/dev/null
done
curl -s "$B/metrics" > "$TMP/metrics.txt"

if lint=$(promtool check metrics < "$TMP/metrics.txt" 2>&1) && [ -z "$lint" ]; then ok promtool-check-metrics
else bad promtool-check-metrics "$(head -20 <<<"$lint")"; fi
# Every family has its HELP (promtool above says so too; this names the families if not).
nohelp=$(awk '/^# TYPE /{t[$3]=1} /^# HELP /{h[$3]=1} END{for (f in t) if (!(f in h)) print f}' "$TMP/metrics.txt")
if [ -z "$nohelp" ]; then ok every-family-has-help; else bad every-family-has-help "$nohelp"; fi
has method-and-code-labels 'vane_http_requests_total\{method="DELETE",route="/v1/users/\{user\}",code="404"\} 1'
has get-apart-from-delete 'vane_http_request_seconds_count\{method="GET",route="/v1/users/\{user\}"\} 1'
has unknown-route-counted 'vane_http_requests_total\{method="GET",route="\(no route\)",code="404"\} 1'
if grep -q '"route":"(no route)","path":"/api/no/such/route"' "$TMP/serve.err"; then ok unknown-route-logged
else bad unknown-route-logged "no log line for /api/no/such/route"; fi
has impressions-counter 'vane_online_impressions_total\{strategy="stable_taste"\} 2'
has clicks-counter 'vane_online_clicks_total\{strategy="stable_taste"\} 1'
has conversions-counter 'vane_online_conversions_total\{strategy="stable_taste"\} 1'
has source-impressions 'vane_online_source_impressions_total\{source="covisit"\} 2'
if grep -q 'ctr' "$TMP/metrics.txt"; then bad no-ratio-gauges "$(grep ctr "$TMP/metrics.txt" | head -3)"; else ok no-ratio-gauges; fi
has process-cpu '^process_cpu_seconds_total [0-9.e+-]+$'
has process-rss '^process_resident_memory_bytes [1-9][0-9.e+]*$'
has process-start '^process_start_time_seconds [1-9][0-9.e+]*$'
has process-fds '^process_open_fds [1-9][0-9]*$'
has build-info '^vane_build_info\{version="[0-9]+\.[0-9]+\.[0-9]+",commit="[^"]+"\} 1$'
has model-info-version '^vane_model_info\{version="none"\} 1$'
store_bytes=$(awk '/^vane_store_bytes /{print $2}' "$TMP/metrics.txt")
disk=$(du -sb "$TMP/store" | cut -f1)
if [ -n "$store_bytes" ] && [ "$store_bytes" -gt 0 ] && [ "$store_bytes" -le "$disk" ]; then ok store-bytes-real
else bad store-bytes-real "vane_store_bytes=$store_bytes, the folder holds $disk bytes"; fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
