--[[ check-all: an atomic batch. Every check is recorded, or none is.
KEYS  one counter per check, in check order (the counters must be distinct)
ARGV  [1] now (µs, or "" for Redis TIME)  [2] grace (ms)
      then four entries per check: algorithm short name, limit, window (µs), cost
Reply four integers per check, in order: allowed (1|0), count, retry_after (µs), reset_after (µs) ]]

local now = now_us(ARGV[1])
local grace = tonumber(ARGV[2])
local checks = {}
local all_fit = true
for i = 1, #KEYS do
  local at = 4 * i - 1
  local check = read_check(at + 1, grace)
  check.algorithm = algorithms[ARGV[at]]
  check.evaluation = check.algorithm.evaluate(KEYS[i], check, now)
  all_fit = all_fit and check.evaluation.allowed
  checks[i] = check
end

local out = {}
for i, check in ipairs(checks) do
  if all_fit and check.cost > 0 then
    check.algorithm.record(KEYS[i], check, now, check.evaluation)
  end
  reply(out, check.evaluation, all_fit)
end
return out
