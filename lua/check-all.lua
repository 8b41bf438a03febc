--[[ check-all: an atomic batch. Every check is recorded, or none is.
KEYS  each check's keys, in check order (the counters must be distinct)
ARGV  [1] now (µs, or "" for Redis TIME)  [2] grace (ms)
      then four entries per check: algorithm short name, limit, window (µs), cost
Reply four values per check, in order: allowed (1|0), count, retry_after (µs), reset_after (µs) ]]

local now = now_us(ARGV[1])
local grace = tonumber(ARGV[2])
local checks = {}
local all_fit = true
local next_key = 1
for at = 3, #ARGV, 4 do
  local check = read_check(at, grace)
  check.keys = {}
  for i = 1, check.algorithm.keys do
    check.keys[i] = KEYS[next_key]
    next_key = next_key + 1
  end
  check.evaluation = check.algorithm.evaluate(check.keys, check, now)
  all_fit = all_fit and check.evaluation.allowed
  checks[#checks + 1] = check
end

local out = {}
for _, check in ipairs(checks) do
  if all_fit and check.cost > 0 then
    check.algorithm.record(check.keys, check, now, check.evaluation)
  end
  for _, value in ipairs(reply(check.evaluation, all_fit)) do
    out[#out + 1] = value
  end
end
return out
