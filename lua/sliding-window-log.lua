--[[ sliding-window-log: exact sliding window log on a sorted set.

KEYS[1]  the log: sorted set, score = time (µs), member = "<time>:<sequence>"
KEYS[2]  the sequence counter (INCRBY), so members stay unique within one microsecond
ARGV[1]  limit    (integer >= 0)
ARGV[2]  window   (µs, integer >= 1)
ARGV[3]  cost     (integer, 0 <= cost <= limit; 0 looks without spending)
ARGV[4]  now      (µs) or "" to take Redis TIME, so every node shares one clock
ARGV[5]  ttl      (ms) set on both keys when units are recorded: window + grace

Reply: { allowed (1|0), count after the decision, retry_after (µs), reset_after (µs) }
A denied check records nothing. ]]

local log_key, seq_key = KEYS[1], KEYS[2]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end

-- Units recorded at t <= now - window have left the window.
redis.call('ZREMRANGEBYSCORE', log_key, '-inf', string.format('%d', now - window))
local count = redis.call('ZCARD', log_key)

local function newest_expiry()
  if count == 0 then return 0 end
  local newest = redis.call('ZRANGE', log_key, -1, -1, 'WITHSCORES')
  return tonumber(newest[2]) + window - now
end

if count + cost > limit then
  -- The check passes once enough of the oldest units have left: the (count + cost - limit)-th oldest.
  local must_leave = count + cost - limit
  local entry = redis.call('ZRANGE', log_key, must_leave - 1, must_leave - 1, 'WITHSCORES')
  return { 0, count, tonumber(entry[2]) + window - now, newest_expiry() }
end

if cost == 0 then
  return { 1, count, 0, newest_expiry() }
end

local last = redis.call('INCRBY', seq_key, cost)
local stamp = string.format('%d', now)
-- ZADD in chunks: unpack() of a very large table overflows the Lua stack.
local chunk = {}
for sequence = last - cost + 1, last do
  chunk[#chunk + 1] = stamp
  chunk[#chunk + 1] = stamp .. ':' .. string.format('%d', sequence)
  if #chunk >= 1000 then
    redis.call('ZADD', log_key, unpack(chunk))
    chunk = {}
  end
end
if #chunk > 0 then
  redis.call('ZADD', log_key, unpack(chunk))
end
redis.call('PEXPIRE', log_key, ARGV[5])
redis.call('PEXPIRE', seq_key, ARGV[5])
return { 1, count + cost, 0, window }
