--[[ lease acquire: admit iff the units of the key's live leases plus `cost` <= `limit`; a
denied acquire holds nothing, and a cost of 0 looks without holding.
KEYS  [1] the leases  [2] their ledger (see include/lease-set.lua)
ARGV  [1] now (µs, or "" for Redis TIME)  [2] grace (ms)  [3] the new lease's id (made by the
      caller: random, 22 characters)  [4] limit  [5] ttl (µs)  [6] cost
Reply allowed (1|0), in flight (units held after), retry_after (µs until the earliest live
      lease expires; 0 when allowed), expires_in (µs: the ttl when a lease was taken, else 0) ]]

local now = now_us(ARGV[1])
local grace = tonumber(ARGV[2])
local lease_id = ARGV[3]
local limit, ttl, cost = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local set, ledger = KEYS[1], KEYS[2]
local units = lease_trim(set, ledger, now)
if units + cost > limit then
  local earliest = redis.call('ZRANGE', set, '0', '0', 'WITHSCORES')
  local retry = 0
  if #earliest > 0 then retry = tonumber(earliest[2]) - now end
  return { 0, units, retry, 0 }
end
if cost == 0 then return { 1, units, 0, 0 } end
if redis.call('ZADD', set, 'NX', int(now + ttl), lease_id) == 0 then
  return redis.error_reply('ERR lease id in use')
end
redis.call('HSET', ledger, lease_id, int(cost), 'units', int(units + cost), 'limit', int(limit))
lease_expire(set, ledger, ttl, grace, units == 0)
return { 1, units + cost, 0, ttl }
