--[[ refund: give back up to `cost` units of one counter, then look at it.
KEYS  [1] the counter
ARGV  [1] now (µs, or "" for Redis TIME)  [2] grace (ms)
      [3] algorithm short name  [4] limit  [5] window (µs)  [6] cost (units to give back)
Reply the four integers of a zero-cost check after the refund: 1, count, 0, reset_after (µs),
      or 0, count, retry_after, reset_after when a lowered limit leaves the counter over it. ]]

local now = now_us(ARGV[1])
local check = read_check(4, tonumber(ARGV[2]))
local algorithm = algorithms[ARGV[3]]
algorithm.refund(KEYS[1], check, now)
check.cost = 0
local out = {}
local evaluation = algorithm.evaluate(KEYS[1], check, now)
reply(out, evaluation, evaluation.allowed)
return out
