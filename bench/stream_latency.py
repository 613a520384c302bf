"""Latency of the live view: from POST /v1/events (a durable write) to the user's new state arriving on
GET /v1/stream/users/{user} (server-sent events), as the dashboard sees it. Python standard library only.
Usage: python3 bench/stream_latency.py PORT USER ROUNDS   (bench/stream_latency.sh starts a server for it)"""
import http.client, json, sys, time, threading, statistics

BASE_TS = int(time.time()) - 365 * 86400  # a year back: the server refuses times beyond its clock-error bound
port = int(sys.argv[1]); user = sys.argv[2]; rounds = int(sys.argv[3])
c = http.client.HTTPConnection("127.0.0.1", port)
c.request("GET", f"/v1/stream/users/{user}?n=10")
r = c.getresponse()
def next_state():
    while True:
        line = r.fp.readline().decode()
        if line.startswith("data: "):
            return json.loads(line[6:])
next_state()
lat = []
items = ["i-hiking-tours-1", "i-trail-running-2", "i-cooking-shows-3", "i-skincare-4"]
for k in range(rounds):
    p = http.client.HTTPConnection("127.0.0.1", port)
    body = json.dumps([{"user": user, "item": items[k % len(items)], "action": "view", "ts": BASE_TS + k}])
    t0 = time.perf_counter()
    p.request("POST", "/v1/events", body, {"Content-Type": "application/json"})
    p.getresponse().read()
    while True:
        s = next_state()
        if s["events"] and s["events"][0]["item"] == items[k % len(items)]:
            break
    lat.append((time.perf_counter() - t0) * 1000)
    time.sleep(0.05)
lat.sort()
print(f"event POSTed -> its state received on the stream: {rounds} rounds, p50 {lat[len(lat)//2]:.2f} ms, p90 {lat[int(len(lat)*.9)]:.2f} ms, max {lat[-1]:.2f} ms")
