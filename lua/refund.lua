--[[ refund: give back up to `cost` units of one counter, then look at it.
KEYS  [1] the counter
ARGV  [1] now (µs, or "" for Redis TIME)  [2] grace (ms)
      [3] algorithm short name  [4] limit  [5] window (µs)  [6] cost (units to give back)
Reply the four integers of a zero-cost check after the refund: 1, count, 0, reset_after (µs),
      or 0, count, retry_after, reset_after when a lowered limit leaves the counter over it. ]]

local now = now_us(ARGV[1])
local grace = tonumber(ARGV[2])
local algorithm = algorithms[ARGV[3]]
local limit, window, cost = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
algorithm.refund(KEYS[1], limit, window, cost, now, grace)
local allowed, retry, count, reset, count_after, reset_after = algorithm.evaluate(KEYS[1], limit, window, 0, now)
local out = {}
reply(out, 0, allowed, allowed, retry, count, reset, count_after, reset_after)
return out
