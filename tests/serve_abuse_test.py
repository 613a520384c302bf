#!/usr/bin/env python3
"""Black-box: `vane serve` (the real binary, default limits) while clients misbehave, on loopback with plain sockets.
At once: 70 slowloris connections (a request line, then one header byte a second), 200 keep-alive connections that
make one request and then sit idle, and 64 live streams (/v1/stream/users/...). Checks, generously (a behaviour
test, not a benchmark):
  - GET /api/health/live, probed every second throughout, answers 200 within 3 s each time;
  - the server closes every slowloris connection within the header deadline (10 s) plus slack;
  - connections over the limit (64 workers) get a written 503 over_capacity with Retry-After and are closed, and
    no connection is left without an answer;
  - at most 16 live streams are open at once, the others are refused with a 503;
  - once the clients are gone, ordinary requests are served again.
Usage: serve_abuse_test.py path/to/vane"""
import json
import re
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time

HEADER_TIMEOUT_S = 10  # HttpOptions defaults
THREADS = 64
MAX_STREAMS = 16

failures = []


def check(name, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else ": " + detail), flush=True)
    if not cond:
        failures.append(name)


def start_server(vane, tmp):
    err = open(f"{tmp}/serve.err", "w")
    proc = subprocess.Popen([vane, "serve", "--port", "0", "--quiet", "--store", f"{tmp}/store"],
                            stdout=subprocess.PIPE, stderr=err, text=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit("server died: " + open(f"{tmp}/serve.err").read()[-500:])
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if ready:
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", proc.stdout.readline())
            if m:
                return proc, int(m.group(1))
    proc.kill()
    sys.exit("server did not start")


def request(port, raw, timeout=3.0):
    """Sends raw on a new connection; (status line, body text, seconds) of the answer, or (None, '', seconds)."""
    t0 = time.time()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(raw)
            data = b""
            while b"\r\n\r\n" not in data or len(data) < data.index(b"\r\n\r\n") + 4 + content_length(data):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
    except OSError:
        return None, "", time.time() - t0
    text = data.decode("utf-8", "replace")
    return (text.split("\r\n", 1)[0] if text else None), text.split("\r\n\r\n", 1)[-1], time.time() - t0


def content_length(data):
    m = re.search(rb"\r\nContent-Length: (\d+)", data, re.I)
    return int(m.group(1)) if m else 0


def get(path):
    return f"GET {path} HTTP/1.1\r\nHost: vane\r\n\r\n".encode()


class Conn:
    """One attacking connection; the monitor records what the server sent and when it closed the connection."""

    def __init__(self, port, kind, first):
        self.kind, self.data, self.closed_at = kind, b"", None
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.setblocking(False)
        self.opened_at = time.time()
        self.sock.send(first)

    def status(self):
        return self.data.split(b"\r\n", 1)[0].decode("utf-8", "replace")


def monitor(conns, stop):
    live = {c.sock.fileno(): c for c in conns}
    poller = select.poll()
    for fd in live:
        poller.register(fd, select.POLLIN)
    next_drip = time.time() + 1
    while not stop.is_set():
        for fd, _ in poller.poll(100):
            c = live[fd]
            try:
                chunk = c.sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            if chunk:
                c.data += chunk
            else:
                c.closed_at = time.time()
                poller.unregister(fd)
                del live[fd]
        if time.time() >= next_drip:  # slowloris: one more header byte a second
            next_drip += 1
            for fd, c in list(live.items()):
                if c.kind == "slow":
                    try:
                        c.sock.send(b"X")
                    except OSError:
                        pass


def main():
    vane = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        proc, port = start_server(vane, tmp)
        try:
            run(port)
        finally:
            alive = proc.poll() is None
            proc.kill()
            proc.wait()
        check("server-survived", alive, "the server exited during the test")
    print(f"{len(failures)} failed", flush=True)
    sys.exit(1 if failures else 0)


def run(port):
    event = json.dumps([{"user": "abuse", "item": "i-trail-running-1", "action": "view"}]).encode()
    st, body, _ = request(port, b"POST /v1/events HTTP/1.1\r\nHost: vane\r\nContent-Type: application/json\r\n"
                          + f"Content-Length: {len(event)}\r\n\r\n".encode() + event)
    check("setup-event", st is not None and " 200 " in st + " ", f"{st} {body[:200]}")
    stream = get("/v1/stream/users/abuse?n=3")
    conns = [Conn(port, "stream", stream) for _ in range(20)]
    time.sleep(0.5)
    conns += [Conn(port, "slow", b"GET /api/health/live HTTP/1.1\r\nHost: vane\r\nX-Slow: ") for _ in range(70)]
    conns += [Conn(port, "idle", get("/v1/popular?n=1")) for _ in range(200)]
    conns += [Conn(port, "stream", stream) for _ in range(44)]
    stop = threading.Event()
    mon = threading.Thread(target=monitor, args=(conns, stop))
    mon.start()
    probes = []
    t_end = time.time() + HEADER_TIMEOUT_S + 4
    while time.time() < t_end:
        st, body, sec = request(port, get("/api/health/live"), timeout=3.0)
        probes.append((st, sec))
        time.sleep(max(0.0, 1.0 - sec))
    time.sleep(1)
    stop.set()
    mon.join()

    bad = [p for p in probes if p[0] is None or " 200 " not in p[0] + " " or p[1] > 3.0]
    check("health-answers-during-attack", len(probes) >= 8 and not bad,
          f"{len(bad)} of {len(probes)} probes failed or were slow: {bad[:5]}")
    report(conns)
    for c in conns:
        c.sock.close()
    time.sleep(1)
    st, body, _ = request(port, get("/v1/popular?n=1"))
    check("served-again-after", st is not None and " 200 " in st + " ", f"{st} {body[:200]}")


def report(conns):
    slow = [c for c in conns if c.kind == "slow"]
    slow_open = [c for c in slow if c.closed_at is None]
    late = [c for c in slow if c.closed_at and c.closed_at - c.opened_at > HEADER_TIMEOUT_S + 3]
    check("slowloris-closed-within-header-deadline", not slow_open and not late,
          f"{len(slow_open)} of {len(slow)} still open, {len(late)} closed late")
    refused = [c for c in conns if c.status().startswith("HTTP/1.1 503") and b"over_capacity" in c.data]
    with_retry = [c for c in refused if b"\r\nRetry-After: " in c.data and c.closed_at is not None]
    check("over-capacity-refused-with-503", len(refused) >= 100 and len(with_retry) == len(refused),
          f"{len(refused)} refused with over_capacity, {len(with_retry)} of them with Retry-After and closed")
    idle = [c for c in conns if c.kind == "idle"]
    unanswered = [c for c in idle if not c.status()]
    check("every-request-answered", not unanswered, f"{len(unanswered)} of {len(idle)} idle connections got nothing")
    streams = [c for c in conns if c.kind == "stream"]
    open_streams = [c for c in streams if c.status() == "HTTP/1.1 200 OK" and b"event: state" in c.data]
    stream_refused = [c for c in streams if c.status().startswith("HTTP/1.1 503")]
    check("live-streams-capped", 1 <= len(open_streams) <= MAX_STREAMS and len(open_streams) + len(stream_refused) == len(streams),
          f"{len(open_streams)} streams opened, {len(stream_refused)} refused, of {len(streams)}")
    print(f"     {len(open_streams)} streams, {len(stream_refused)} refused; {len(refused)} over-capacity 503s; "
          f"slowloris closed after {sorted(round(c.closed_at - c.opened_at, 1) for c in slow if c.closed_at)[::10]} s",
          flush=True)


if __name__ == "__main__":
    main()
