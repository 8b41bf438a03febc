--[[ lease renew: a live lease of this key now expires `ttl` from now; an expired one is not
revived.
KEYS  [1] the leases  [2] their ledger (see include/lease-set.lua)
ARGV  [1] now (µs, or "" for Redis TIME)  [2] grace (ms)  [3] lease id  [4] ttl (µs)
Reply renewed (1|0), in flight (units held), limit (of the latest admitted acquire; 0 when the
      key holds no lease), expires_in (µs: the ttl when renewed, else 0) ]]

local now = now_us(ARGV[1])
local grace = tonumber(ARGV[2])
local lease_id, ttl = ARGV[3], tonumber(ARGV[4])
local set, ledger = KEYS[1], KEYS[2]
local units = lease_trim(set, ledger, now)
if units == 0 then return { 0, 0, 0, 0 } end
local found = redis.call('HMGET', ledger, lease_id, 'limit')
local limit = tonumber(found[2])
if not found[1] then return { 0, units, limit, 0 } end
redis.call('ZADD', set, 'XX', int(now + ttl), lease_id)
lease_expire(set, ledger, ttl, grace, false)
return { 1, units, limit, ttl }
