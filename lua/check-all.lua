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
  local check = { algorithm = algorithms[ARGV[at]], limit = tonumber(ARGV[at + 1]),
                  window = tonumber(ARGV[at + 2]), cost = tonumber(ARGV[at + 3]) }
  check.evaluation = { check.algorithm.evaluate(KEYS[i], check.limit, check.window, check.cost, now) }
  all_fit = all_fit and check.evaluation[1]
  checks[i] = check
end

local out = {}
for i, check in ipairs(checks) do
  local e = check.evaluation
  if all_fit and check.cost > 0 then
    check.algorithm.record(KEYS[i], check.limit, check.window, check.cost, now, grace, e[5], e[7], e[8])
  end
  reply(out, 4 * i - 4, all_fit, e[1], e[2], e[3], e[4], e[5], e[6])
end
return out
