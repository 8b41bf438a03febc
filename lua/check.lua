--[[ check: independent checks of one algorithm (`algorithm`, bound by the assembler), each
atomic on its own, in order: a later check of the same counter sees an earlier one's units. One
call carries the checks a store coalesced; their number is bounded by the store.
KEYS  one counter per check, in check order
ARGV  [1] now (µs, or "" for Redis TIME)  [2] grace (ms kept after expiry)
      then three entries per check: limit, window (µs), cost
Reply four integers per check: allowed (1|0), count, retry_after (µs), reset_after (µs);
      a denied check records nothing. ]]

local now = now_us(ARGV[1])
local grace = tonumber(ARGV[2])
local out = {}
for i = 1, #KEYS do
  local key = KEYS[i]
  local check = read_check(3 * i, grace)
  local evaluation = algorithm.evaluate(key, check, now)
  if evaluation.allowed and check.cost > 0 then
    algorithm.record(key, check, now, evaluation)
  end
  reply(out, evaluation, evaluation.allowed)
end
return out
