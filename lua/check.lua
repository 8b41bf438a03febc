--[[ check: one check, atomically.
KEYS  the algorithm's keys (see its file)
ARGV  [1] now (µs, or "" for Redis TIME)  [2] grace (ms kept after expiry)
      [3] algorithm short name  [4] limit  [5] window (µs)  [6] cost
Reply { allowed (1|0), count, retry_after (µs), reset_after (µs) }; a denied check records nothing. ]]

local now = now_us(ARGV[1])
local check = read_check(3, tonumber(ARGV[2]))
local evaluation = check.algorithm.evaluate(KEYS, check, now)
if evaluation.allowed and check.cost > 0 then
  check.algorithm.record(KEYS, check, now, evaluation)
end
return reply(evaluation, evaluation.allowed)
