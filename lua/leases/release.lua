--[[ lease release: free a live lease of this key. Idempotent: an unknown, expired or already
released lease, or one of another key, answers 0 and frees nothing.
KEYS  [1] the leases  [2] their ledger (see include/lease-set.lua)
ARGV  [1] now (µs, or "" for Redis TIME)  [2] grace (ms)  [3] lease id
Reply released (1|0), in flight (units held after), limit (of the latest admitted acquire, read
      before the release; 0 when the key held no lease) ]]

local now = now_us(ARGV[1])
local lease_id = ARGV[3]
local set, ledger = KEYS[1], KEYS[2]
local units = lease_trim(set, ledger, now)
if units == 0 then return { 0, 0, 0 } end
local found = redis.call('HMGET', ledger, lease_id, 'limit')
local limit = tonumber(found[2])
if not found[1] then return { 0, units, limit } end
units = units - tonumber(found[1])
if units == 0 then
  redis.call('DEL', set, ledger)
else
  redis.call('ZREM', set, lease_id)
  redis.call('HDEL', ledger, lease_id)
  redis.call('HSET', ledger, 'units', int(units))
end
return { 1, units, limit }
