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

-- Each wrk thread (one Lua state for its connections) keeps a schedule on the monotonic clock (LuaJIT FFI): its k-th
-- request is due at start + k*threads/rate, and delay() waits only for what is left of that slot, so the response
-- time does not slow the pace (a fixed delay after each response caps the rate at conns/(conns/rate + latency)).
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } vane_timespec;
int clock_gettime(int clk, vane_timespec* ts);
]]
local ts = ffi.new("vane_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts)  -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end
local next_due = nil

function delay()
  local t = now_ms()
  local interval = 1000 * threads / rate
  if next_due == nil then next_due = t + interval * id / threads end  -- spread the threads' phases
  local wait = next_due - t
  next_due = next_due + interval
  if wait < 0 then wait = 0 end
  if next_due < t - 1000 then next_due = t end  -- more than a second behind: do not burst to catch up
  return math.floor(wait + math.random())  -- whole milliseconds, unbiased on average
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
