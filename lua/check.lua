--[[ check: independent checks of one algorithm (`algorithm`, bound by the assembler), each
atomic on its own, in order: a later check of the same counter sees an earlier one's units. One
call carries the checks a store coalesced; their number is bounded by the store.
KEYS  one counter per check, in check order
ARGV  [1] now (µs, or "" for Redis TIME)  [2] grace (ms kept after expiry)
      then runs of checks that share their numbers, four entries a run:
      how many checks, limit, window (µs), cost
Reply four integers per check: allowed (1|0), count, retry_after (µs), reset_after (µs);
      a denied check records nothing. ]]

local now = now_us(ARGV[1])
local grace = tonumber(ARGV[2])
local evaluate, record = algorithm.evaluate, algorithm.record
local out, i = {}, 0
for at = 3, #ARGV, 4 do
  local limit, window, cost = tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3])
  for _ = 1, tonumber(ARGV[at]) do
    i = i + 1
    local key = KEYS[i]
    local allowed, retry, count, reset, count_after, reset_after, carry1, carry2 =
      evaluate(key, limit, window, cost, now)
    local o = 4 * i - 4
    if allowed then
      if cost > 0 then record(key, limit, window, cost, now, grace, count_after, carry1, carry2) end
      out[o + 1], out[o + 2], out[o + 3], out[o + 4] = 1, count_after, 0, reset_after
    else
      out[o + 1], out[o + 2], out[o + 3], out[o + 4] = 0, count, retry, reset
    end
  end
end
return out
