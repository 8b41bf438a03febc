--[[ prelude: shared by every entry script. src/stores/redis/scripts.ts assembles each script
from a shebang line (Redis 7 script flags: the script may write, so Redis refuses it as a whole
when it is out of memory or a read-only replica), this file, the algorithms the entry needs
(lua/algorithms/*.lua, which fill in `algorithms`), then one entry file (lua/check.lua,
lua/check-all.lua or lua/refund.lua). Nothing in a script is built from request input. ]]

local algorithms = {}

-- ARGV time (µs) when a test drives the clock, else Redis TIME, so every node shares one clock.
local function now_us(arg)
  local now = tonumber(arg)
  if now ~= nil then return now end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end

-- Integers as digits: tostring() uses %.14g and would round times past 10^14 µs.
local function int(x) return string.format('%d', x) end

-- Floats with every significant digit, so a stored value reads back bit for bit.
local function float(x) return string.format('%.17g', x) end

local function pexpire_us(key, from_now_us, grace_ms)
  redis.call('PEXPIRE', key, int(math.ceil(from_now_us / 1000) + grace_ms))
end

-- An evaluation, as in src/core/algorithms/algorithm.ts: whether the cost fits, the counter now
-- (count, reset µs) and the counter once the cost is recorded (count_after, reset_after).
local function fits(count, reset, count_after, reset_after)
  return { allowed = true, retry = 0, count = count, reset = reset,
           count_after = count_after, reset_after = reset_after }
end

local function denied(retry, count, reset)
  return { allowed = false, retry = retry, count = count, reset = reset,
           count_after = count, reset_after = reset }
end

-- Append one check's reply to `out`: allowed (1|0), count, retry_after (µs), reset_after (µs).
local function reply(out, evaluation, recorded)
  local n = #out
  if recorded then
    out[n + 1], out[n + 2], out[n + 3], out[n + 4] = 1, evaluation.count_after, 0, evaluation.reset_after
  else
    local retry = evaluation.retry
    if evaluation.allowed then retry = 0 end
    out[n + 1], out[n + 2], out[n + 3], out[n + 4] = 0, evaluation.count, retry, evaluation.reset
  end
end

-- A check's numbers from three ARGV entries starting at `at`: limit, window µs, cost.
local function read_check(at, grace)
  return { limit = tonumber(ARGV[at]), window = tonumber(ARGV[at + 1]),
           cost = tonumber(ARGV[at + 2]), grace = grace }
end
