-- wrk script: POST /v1/events with batches of BATCH new (never duplicate) events each.
-- Environment: VANE_BATCH (default 1000), VANE_ITEMS (item ids 1..ITEMS, default 3416), VANE_USERS (0, the
-- default: a fresh user per 50 events; N > 0: existing users 1..N, as in a soak where the user base is stable),
-- VANE_EVENT_RATE (events/s in total, paced like recommend.lua; 0, the default: as fast as possible) and
-- VANE_THREADS (must equal wrk -t when paced).
local batch = tonumber(os.getenv("VANE_BATCH") or "1000")
local event_rate = tonumber(os.getenv("VANE_EVENT_RATE") or "0")
local threads = tonumber(os.getenv("VANE_THREADS") or "2")
local items = tonumber(os.getenv("VANE_ITEMS") or "3416")
local users = tonumber(os.getenv("VANE_USERS") or "0")
local tag = os.getenv("VANE_TAG") or ""  -- in fresh users' ids: several wrk processes at once never share a user
local counter = 0
local n = 0
-- Event times start a year back (the server refuses times beyond its clock-error bound) and grow by a second each.
local base = os.time() - 365 * 86400

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

package.path = "bench/wrk/?.lua;" .. package.path
local pace = require("pace")
local paced = nil

function delay()
  if event_rate <= 0 then return 0 end
  if paced == nil then paced = pace.schedule(1000 * threads * batch / event_rate, id / threads) end
  return paced()
end

function request()
  n = n + 1
  local parts = {}
  for k = 1, batch do
    -- a fresh user per 50 events: user ids never repeat across threads (thread id in the name)
    local seq = (n - 1) * batch + k
    local user = string.format("load%s-%d-%d", tag, id, math.floor(seq / 50))
    if users > 0 then user = tostring((seq * 104729 + id * 7) % users + 1) end
    parts[k] = string.format('{"user":"%s","item":"%d","action":"view","ts":%d}',
      user, (seq * 7919) % items + 1, base + seq)
  end
  return wrk.format("POST", "/v1/events", {["Content-Type"] = "application/json"}, "[" .. table.concat(parts, ",") .. "]")
end

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status +
                 summary.errors.timeout
  local secs = summary.duration / 1e6
  io.write(string.format("batches %d of %d events | %.0f events/s acknowledged | errors %d | batch latency p50 %.2f ms p99 %.2f ms\n",
    summary.requests, batch, summary.requests * batch / secs, errors, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000))
end
