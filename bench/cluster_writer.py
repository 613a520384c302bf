#!/usr/bin/python3
"""Writer and checker for the cluster benchmark (bench/cluster_nodes_bench.sh). Standard library only.

write URL SECONDS TAG OUT: posts batches to URL/v1/events for SECONDS, one fresh user per batch (TAG-<n>, 100
events), and writes to OUT one line per acknowledged batch: the user, the events accepted, the position token.
A batch that fails (refused connection, 5xx) is not acknowledged: it is counted and not retried. Prints the
latency of the acknowledged batches (p50, p99, max) and, per second of the run, the slowest batch of that second.

check URL FILE...: for every acknowledged batch of the files, asks URL (a node that stayed up) for the user with
the batch's token, and prints how many acknowledged events are missing.

lag URL SECONDS OUT: samples URL/v1/stats every 50 ms and writes the cluster lag (ms), one per line.
"""
import json
import sys
import time
import urllib.error
import urllib.request


def post(url, body, timeout=15):
    req = urllib.request.Request(url, data=body.encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


def write(url, seconds, tag, out):
    start = time.time()
    end = start + float(seconds)
    first_fail = last_fail = 0.0
    n = acked = failed = 0
    lat = []  # (seconds since start, latency ms) of each acknowledged batch
    base = int(time.time()) - 30 * 86400
    with open(out, "w") as f:
        while time.time() < end:
            user = f"{tag}-{n}"
            events = [{"user": user, "item": str((n * 31 + k * 7) % 3416 + 1), "action": "view",
                       "ts": base + n * 100 + k} for k in range(100)]
            n += 1
            try:
                t0 = time.time()
                r = post(url + "/v1/events", json.dumps(events))
                lat.append((t0 - start, (time.time() - t0) * 1e3))
                f.write(f"{user} {r.get('accepted', 0)} {r.get('position', '')}\n")
                f.flush()
                acked += 1
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                failed += 1
                first_fail = first_fail or time.time()
                last_fail = time.time()
                time.sleep(0.05)
    window = f"; failures from {first_fail - start:.1f} s to {last_fail - start:.1f} s" if failed else ""
    print(f"writer {tag}: {acked} batches acknowledged, {failed} failed (not acknowledged){window}")
    if lat:
        ms = sorted(x[1] for x in lat)
        pick = lambda q: ms[min(len(ms) - 1, int(q * len(ms)))]
        print(f"writer {tag}: acknowledged batch latency p50 {pick(0.5):.1f} ms, p99 {pick(0.99):.1f} ms, "
              f"max {ms[-1]:.1f} ms")
        worst = {}
        for t, l in lat:
            worst[int(t)] = max(worst.get(int(t), 0.0), l)
        print(f"writer {tag}: slowest acknowledged batch per second: " +
              " ".join(f"{sec}s:{worst[sec]:.0f}" for sec in sorted(worst)))


def check(url, files):
    batches = missing = 0
    for name in files:
        for line in open(name):
            user, accepted, token = line.split()
            batches += 1
            req = urllib.request.Request(f"{url}/v1/users/{user}", headers={"X-Vane-Position": token})
            try:
                with urllib.request.urlopen(req, timeout=30) as r:
                    got = json.loads(r.read()).get("events", 0)
            except urllib.error.HTTPError as e:
                got = 0 if e.code == 404 else -1
            if got != int(accepted):
                missing += int(accepted) - max(got, 0)
    print(f"acknowledged batches checked: {batches}; acknowledged events missing: {missing}")
    return missing


def lag(url, seconds, out):
    end = time.time() + float(seconds)
    with open(out, "w") as f:
        while time.time() < end:
            try:
                with urllib.request.urlopen(url + "/v1/stats", timeout=5) as r:
                    f.write(f"{json.loads(r.read())['cluster']['lag_ms']}\n")
            except (urllib.error.URLError, OSError, KeyError, TypeError):
                pass
            time.sleep(0.05)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "write":
        write(*sys.argv[2:6])
    elif cmd == "check":
        sys.exit(1 if check(sys.argv[2], sys.argv[3:]) else 0)
    elif cmd == "lag":
        lag(*sys.argv[2:5])
