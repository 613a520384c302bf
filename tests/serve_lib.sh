# Shared by the service tests (sourced): start the real `vane serve` on a free loopback port.
# start_server VANE OUT ERR [serve args...]: starts it in the background, waits until it listens (up to 60 s);
# sets PID and PORT; returns 1 (with the log tail) when it dies or does not start.
start_server() {
  local vane="$1" out="$2" err="$3"; shift 3
  : > "$out"
  "$vane" serve --port 0 --quiet "$@" > "$out" 2>> "$err" &
  PID=$!
  PORT=""
  for _ in $(seq 1 600); do
    PORT=$(grep -oE 'listening on http://127.0.0.1:[0-9]+' "$out" 2>/dev/null | grep -oE '[0-9]+$' || true)
    [ -n "$PORT" ] && return 0
    kill -0 "$PID" 2>/dev/null || { echo "server died:"; tail -5 "$err"; return 1; }
    sleep 0.1
  done
  echo "server did not start"; tail -5 "$err"; return 1
}
