-- Pacing shared by the wrk scripts (loaded with require; the bench scripts run wrk from the repository root).
-- Each wrk thread (one Lua state for its connections) keeps a schedule on the monotonic clock (LuaJIT FFI): its k-th
-- request is due at start + k*interval, and the delay waits only for what is left of that slot, so the response
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

local M = {}
-- A delay function for a thread whose requests are due every interval_ms; `phase` (0..1) spreads the threads.
function M.schedule(interval_ms, phase)
  local next_due = nil
  return function()
    local t = now_ms()
    if next_due == nil then next_due = t + interval_ms * phase end
    local wait = next_due - t
    next_due = next_due + interval_ms
    if wait < 0 then wait = 0 end
    if next_due < t - 1000 then next_due = t end  -- more than a second behind: do not burst to catch up
    return math.floor(wait + math.random())  -- whole milliseconds, unbiased on average
  end
end
return M
