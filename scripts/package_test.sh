#!/usr/bin/env bash
# The Debian package as an operator meets it, on this machine (needs root: it installs and purges the package):
# builds vane_<version>_amd64.deb (scripts/package.sh), checks its contents and control data, `systemd-analyze
# verify`s its unit, installs it with dpkg -i, starts the binary exactly as the unit would (its ExecStart, User,
# WorkingDirectory), writes and reads through the API, stops it with the unit's signal, and purges the package.
# Usage: scripts/package_test.sh        (called by scripts/test.sh when run as root or with sudo)
set -uo pipefail
cd "$(dirname "$0")/.."
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo -n"
pass=0; fail=0
ok() { echo "ok   package: $1"; pass=$((pass+1)); }
bad() { echo "FAIL package: $1: $2"; fail=$((fail+1)); }

scripts/package.sh >/dev/null || { echo "FAIL package: scripts/package.sh failed"; exit 1; }
version=$(sed -n 's/^project(vane VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
DEB="build/release/vane_${version}_amd64.deb"
[ -f "$DEB" ] && ok "built $(basename "$DEB") ($(du -h "$DEB" | cut -f1))" || { bad file-name "no $DEB"; exit 1; }
contents=$(dpkg-deb -c "$DEB")
for f in ./usr/bin/vane ./usr/lib/systemd/system/vane.service ./etc/vane/vane.toml ./usr/share/doc/vane/README.md; do
  grep -q " $f\$" <<<"$contents" && ok "holds $f" || bad "holds $f" "not in the package"
done
[ "$(dpkg-deb -f "$DEB" Package)" = vane ] && ok control-package || bad control-package "$(dpkg-deb -f "$DEB" Package)"
grep -q "librocksdb" <<<"$(dpkg-deb -f "$DEB" Depends)" && ok depends-from-shlibdeps || bad depends-from-shlibdeps "$(dpkg-deb -f "$DEB" Depends)"
grep -qx "/etc/vane/vane.toml" <(dpkg-deb --ctrl-tarfile "$DEB" | tar -xO ./conffiles) && ok conffile || bad conffile "vane.toml is not a conffile"

$SUDO dpkg --purge vane >/dev/null 2>&1 || true
if $SUDO dpkg -i "$DEB" > /tmp/vane-dpkg.log 2>&1; then ok "dpkg -i"; else bad "dpkg -i" "$(tail -5 /tmp/vane-dpkg.log)"; exit 1; fi
getent passwd vane >/dev/null && ok system-user || bad system-user "no user vane"
[ "$(stat -c %U /var/lib/vane 2>/dev/null)" = vane ] && ok state-folder || bad state-folder "/var/lib/vane not owned by vane"
UNIT=/usr/lib/systemd/system/vane.service
if out=$(systemd-analyze verify "$UNIT" 2>&1) && ! grep -qiE "error|invalid|unknown" <<<"$out"; then ok "systemd-analyze verify"
else bad "systemd-analyze verify" "$out"; fi
vane --version | grep -qE "^vane $version " && ok "installed binary runs" || bad "installed binary runs" "$(vane --version 2>&1)"

# Start it as the unit would: its ExecStart as its User in its WorkingDirectory, on a free port (the port is the
# one thing changed, through the environment the configuration documents).
exec_start=$(sed -n 's/^ExecStart=//p' "$UNIT")
user=$(sed -n 's/^User=//p' "$UNIT"); dir=$(sed -n 's/^WorkingDirectory=//p' "$UNIT")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$(mktemp)
$SUDO env -i PATH=/usr/bin:/bin VANE_PORT="$port" setpriv --reuid="$user" --regid="$user" --init-groups \
  bash -c "cd '$dir' && exec $exec_start" > "$log" 2>&1 &
pid=$!
ready=""
for _ in $(seq 1 300); do
  if curl -sf "http://127.0.0.1:$port/api/health/ready" >/dev/null 2>&1; then ready=1; break; fi
  kill -0 $pid 2>/dev/null || break
  sleep 0.2
done
[ -n "$ready" ] && ok "starts as the unit would (ready on :$port)" || bad "starts as the unit would" "$(tail -5 "$log")"
if [ -n "$ready" ]; then
  events=$(curl -s "http://127.0.0.1:$port/v1/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["events"])')
  [ "$events" = 0 ] && ok "a new store starts empty" || bad "a new store starts empty" "$events events"
  curl -s -X POST "http://127.0.0.1:$port/v1/items" -H 'Content-Type: application/json' \
       -d '[{"id":"p1","title":"Trail shoes","categories":["Shoes"]}]' >/dev/null
  r=$(curl -s -X POST "http://127.0.0.1:$port/v1/events" -H 'Content-Type: application/json' \
       -d '[{"user":"pkg-user","item":"p1","action":"view"}]')
  grep -q '"accepted":1' <<<"$r" && ok "ingests" || bad ingests "$r"
  [ -d /var/lib/vane/store ] && [ "$(stat -c %U /var/lib/vane/store)" = vane ] && ok "store in /var/lib/vane, owned by vane" \
    || bad "store in /var/lib/vane" "$(ls -la /var/lib/vane 2>&1)"
fi
$SUDO kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null
grep -q '"route"' "$log" && ok "logs to stdout/stderr (the journal)" || bad "logs" "nothing logged"
rm -f "$log"
$SUDO dpkg --purge vane >/dev/null 2>&1 && [ ! -e /usr/bin/vane ] && [ ! -e /var/lib/vane ] && ok "purged" \
  || bad purged "files left"
echo "package: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
