--[[ lease release: releases a store coalesced, each atomic on its own, in order. Each frees a
live lease of its key. Idempotent: an unknown, expired or already released lease, or one of
another key, answers 0 and frees nothing.
KEYS  two per release, in order: [1] the leases  [2] their ledger (see include/lease-set.lua)
ARGV  [1] now (µs, or "" for Redis TIME)  [2] grace (ms), then one per release: the lease id
Reply three integers per release: released (1|0), in flight (units held after), limit (of the
      latest admitted acquire, read before the release; 0 when the key held no lease) ]]

local now = now_us(ARGV[1])
local out = {}
for i = 1, #KEYS / 2 do
  local o = 3 * i - 3
  local lease_id = ARGV[i + 2]
  local set, ledger = KEYS[2 * i - 1], KEYS[2 * i]
  local units = lease_trim(set, ledger, now)
  local released, limit = 0, 0
  if units > 0 then
    local found = redis.call('HMGET', ledger, lease_id, 'limit')
    limit = tonumber(found[2])
    if found[1] then
      released = 1
      units = units - tonumber(found[1])
      if units == 0 then
        redis.call('DEL', set, ledger)
      else
        redis.call('ZREM', set, lease_id)
        redis.call('HDEL', ledger, lease_id)
        redis.call('HSET', ledger, 'units', int(units))
      end
    end
  end
  out[o + 1], out[o + 2], out[o + 3] = released, units, limit
end
return out
