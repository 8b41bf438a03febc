--[[ prelude: shared by every entry script. src/stores/redis/scripts.ts assembles each script
from a shebang line (Redis 7 script flags: the script may write, so Redis refuses it as a whole
when it is out of memory or a read-only replica), this file, the algorithms the entry needs
(lua/algorithms/*.lua, which fill in `algorithms`), then one entry file (lua/check.lua,
lua/check-all.lua or lua/refund.lua). Nothing in a script is built from request input.

Every algorithm is a table of three functions, called with plain numbers (no table per check:
this is the hot path):
  evaluate(key, limit, window, cost, now)
    -> allowed, retry, count, reset, count_after, reset_after, carry1, carry2
       (µs; count and reset as the counter is, count_after and reset_after once the cost is
       recorded; the carries are what record needs from the evaluation)
  record(key, limit, window, cost, now, grace, count_after, carry1, carry2)
  refund(key, limit, window, cost, now)
Numbers go to redis.call as text made by int(): Redis would format a Lua number with %.17g,
which costs several times more, and tostring() (%.14g) would round values past 10^14. ]]

local algorithms = {}

local function int(x) return string.format('%d', x) end

-- ARGV time (µs) when a test drives the clock, else Redis TIME, so every node shares one clock.
local function now_us(arg)
  local now = tonumber(arg)
  if now ~= nil then return now end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end

-- Milliseconds until expiry, as text, for a state that stops mattering `from_now` µs from now.
local function expiry_ms(from_now, grace)
  return int(math.ceil(from_now / 1000) + grace)
end

-- Append one check's reply to `out` at `n`: allowed (1|0), count, retry_after (µs), reset_after (µs).
local function reply(out, n, recorded, allowed, retry, count, reset, count_after, reset_after)
  if recorded then
    out[n + 1], out[n + 2], out[n + 3], out[n + 4] = 1, count_after, 0, reset_after
  else
    if allowed then retry = 0 end
    out[n + 1], out[n + 2], out[n + 3], out[n + 4] = 0, count, retry, reset
  end
end
