#!/usr/bin/env python3
"""Black-box: `vane serve` (the real binary, default limits) while clients misbehave, on loopback with plain sockets.
At once: 70 slowloris connections (a request line, then one header byte a second), 200 keep-alive connections that
make one request and then sit idle, and 64 live streams (/v1/stream/users/...). Checks, generously (a behaviour
test, not a benchmark):
  - before the attack: 100 live streams (more than the 64 workers) are all served, and an ordinary request is
    answered while they are open (a stream holds no worker after its first answer); a change of the user reaches
    every one of them;
  - GET /api/health/live, probed every second throughout, answers 200 within 3 s each time;
  - the server closes every slowloris connection within the header deadline (10 s) plus slack;
  - connections over the limit (64 workers) get a written 503 over_capacity with Retry-After and are closed, and
    no connection is left without an answer;
  - every live stream of the attack is served, or refused over_capacity when the idle and slow connections hold
    every worker (never too_many_streams);
  - once the clients are gone, ordinary requests are served again;
  - a second server with `[server] max_streams = 4` in its configuration file opens 4 streams and refuses the
    fifth with 503 too_many_streams.
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

failures = []


def check(name, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else ": " + detail), flush=True)
    if not cond:
        failures.append(name)


def start_server(vane, tmp, *extra):
    err = open(f"{tmp}/serve.err", "w")
    proc = subprocess.Popen([vane, "serve", "--port", "0", "--quiet", "--store", f"{tmp}/store", *extra],
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
    with tempfile.TemporaryDirectory() as tmp:
        with open(f"{tmp}/vane.toml", "w") as f:
            f.write("[server]\nmax_streams = 4\n")
        proc, port = start_server(vane, tmp, "--config", f"{tmp}/vane.toml")
        try:
            capped(port)
        finally:
            proc.kill()
            proc.wait()
    print(f"{len(failures)} failed", flush=True)
    sys.exit(1 if failures else 0)


def run(port):
    event = json.dumps([{"user": "abuse", "item": "i-trail-running-1", "action": "view"}]).encode()
    st, body, _ = request(port, b"POST /v1/events HTTP/1.1\r\nHost: vane\r\nContent-Type: application/json\r\n"
                          + f"Content-Length: {len(event)}\r\n\r\n".encode() + event)
    check("setup-event", st is not None and " 200 " in st + " ", f"{st} {body[:200]}")
    stream = get("/v1/stream/users/abuse?n=3")
    many_streams(port, event, stream)
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
    # Streams take no worker, but the attack's idle and slow connections fill the workers: a stream arriving then
    # is refused like any connection over the limit (over_capacity), never as one stream too many.
    over = [c for c in stream_refused if b"over_capacity" in c.data]
    check("live-streams-served-or-over-capacity", open_streams and len(open_streams) + len(over) == len(streams),
          f"{len(open_streams)} streams opened, {len(over)} refused over capacity, of {len(streams)}")
    print(f"     {len(open_streams)} streams, {len(stream_refused)} refused; {len(refused)} over-capacity 503s; "
          f"slowloris closed after {sorted(round(c.closed_at - c.opened_at, 1) for c in slow if c.closed_at)[::10]} s",
          flush=True)


def wait_for(conns, cond, seconds):
    """Reads the connections until cond(conn) holds for all of them or the time is up; True when it held."""
    poller = select.poll()
    by_fd = {c.sock.fileno(): c for c in conns}
    for fd in by_fd:
        poller.register(fd, select.POLLIN)
    end = time.time() + seconds
    while time.time() < end and not all(cond(c) for c in conns):
        for fd, _ in poller.poll(100):
            try:
                chunk = by_fd[fd].sock.recv(65536)
            except (BlockingIOError, OSError):
                continue
            if chunk:
                by_fd[fd].data += chunk
            else:
                poller.unregister(fd)
    return all(cond(c) for c in conns)


def many_streams(port, event, stream):
    streams = []
    for _ in range(4):  # in waves of 25, each served before the next (100 at once would exceed the 64 workers)
        wave = [Conn(port, "stream", stream) for _ in range(25)]
        wait_for(wave, lambda c: b"event: state" in c.data, 10)
        streams += wave
    opened = all(b"event: state" in c.data for c in streams)
    n_open = sum(1 for c in streams if c.status() == "HTTP/1.1 200 OK" and b"event: state" in c.data)
    check("streams-beyond-workers-served", opened, f"{n_open} of {len(streams)} streams got their first state")
    st, body, sec = request(port, get("/v1/popular?n=1"), timeout=5.0)
    check("request-served-while-streams-open", st is not None and " 200 " in st + " ",
          f"{st} after {sec:.1f} s {body[:200]}")
    before = [c.data.count(b"event: state") for c in streams]
    event = event.replace(b'"view"', b'"click"')  # another event (the same one again would be a duplicate)
    st, body, _ = request(port, b"POST /v1/events HTTP/1.1\r\nHost: vane\r\nContent-Type: application/json\r\n"
                          + f"Content-Length: {len(event)}\r\n\r\n".encode() + event)
    counts = dict(zip(map(id, streams), before))
    got = wait_for(streams, lambda c: c.data.count(b"event: state") > counts[id(c)], 10)
    n_got = sum(1 for c in streams if c.data.count(b"event: state") > counts[id(c)])
    check("change-reaches-every-stream", got, f"{n_got} of {len(streams)} streams saw the new event ({st} {body[:200]})")
    for c in streams:
        c.sock.close()


def capped(port):
    event = json.dumps([{"user": "capped", "item": "i-trail-running-1", "action": "view"}]).encode()
    request(port, b"POST /v1/events HTTP/1.1\r\nHost: vane\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(event)}\r\n\r\n".encode() + event)
    streams = [Conn(port, "stream", get("/v1/stream/users/capped")) for _ in range(4)]
    wait_for(streams, lambda c: b"event: state" in c.data, 10)
    fifth = request(port, get("/v1/stream/users/capped"), timeout=5.0)
    n_open = sum(1 for c in streams if c.status() == "HTTP/1.1 200 OK")
    check("max-streams-from-config", n_open == 4 and fifth[0] is not None and " 503 " in fifth[0] + " "
          and "too_many_streams" in fifth[1], f"{n_open} open; fifth: {fifth[0]} {fifth[1][:200]}")
    for c in streams:
        c.sock.close()
    time.sleep(1.5)  # the hub sees the closed sockets and frees their slots
    again = Conn(port, "stream", get("/v1/stream/users/capped"))
    check("slots-freed-when-clients-leave", wait_for([again], lambda c: b"event: state" in c.data, 5),
          f"{again.status()!r}")
    again.sock.close()


if __name__ == "__main__":
    main()
