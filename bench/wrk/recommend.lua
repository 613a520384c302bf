-- wrk script: GET /v1/recommend/{user} for users drawn from 1..USERS, paced to about RATE requests/s in total.
-- Environment: VANE_USERS (default 6040), VANE_RATE (default 1000), VANE_CONNECTIONS (must equal wrk -c).
local users = tonumber(os.getenv("VANE_USERS") or "6040")
local rate = tonumber(os.getenv("VANE_RATE") or "1000")
local conns = tonumber(os.getenv("VANE_CONNECTIONS") or "10")
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  math.randomseed(42 + id)
end

-- Each connection waits conns/rate seconds between its requests, so the total is about `rate` per second.
function delay()
  return math.floor(1000 * conns / rate)
end

function request()
  local u = math.random(1, users)
  return wrk.format("GET", "/v1/recommend/" .. u .. "?n=10")
end

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status +
                 summary.errors.timeout
  io.write(string.format("requests %d | %.0f req/s | errors %d | latency p50 %.2f ms p90 %.2f ms p99 %.2f ms max %.2f ms\n",
    summary.requests, summary.requests / (summary.duration / 1e6), errors,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
