-- wrk script: GET /v1/recommend/{user} for users drawn from 1..USERS, paced to about RATE requests/s in total.
-- Environment: VANE_USERS (default 6040), VANE_RATE (default 1000), VANE_THREADS (must equal wrk -t).
local users = tonumber(os.getenv("VANE_USERS") or "6040")
local rate = tonumber(os.getenv("VANE_RATE") or "1000")
local threads = tonumber(os.getenv("VANE_THREADS") or "2")
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  math.randomseed(42 + id)
end

package.path = "bench/wrk/?.lua;" .. package.path
local pace = require("pace")
local paced = nil

function delay()
  if paced == nil then paced = pace.schedule(1000 * threads / rate, id / threads) end
  return paced()
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
