--[[ lease renew: renewals a store coalesced, each atomic on its own, in order. Each makes a
live lease of its key expire `ttl` from now; an expired one is not revived.
KEYS  two per renewal, in order: [1] the leases  [2] their ledger (see include/lease-set.lua)
ARGV  [1] now (µs, or "" for Redis TIME)  [2] grace (ms), then two per renewal: lease id, ttl (µs)
Reply four integers per renewal: renewed (1|0), in flight (units held), limit (of the latest
      admitted acquire; 0 when the key holds no lease), expires_in (µs: the ttl when renewed,
      else 0) ]]

local now = now_us(ARGV[1])
local grace = tonumber(ARGV[2])
local out = {}
for i = 1, #KEYS / 2 do
  local at, o = 2 * i + 1, 4 * i - 4
  local lease_id, ttl = ARGV[at], tonumber(ARGV[at + 1])
  local set, ledger = KEYS[2 * i - 1], KEYS[2 * i]
  local units = lease_trim(set, ledger, now)
  local renewed, limit, expires = 0, 0, 0
  if units > 0 then
    local found = redis.call('HMGET', ledger, lease_id, 'limit')
    limit = tonumber(found[2])
    if found[1] then
      redis.call('ZADD', set, 'XX', int(now + ttl), lease_id)
      lease_expire(set, ledger, ttl, grace, false)
      renewed, expires = 1, ttl
    end
  end
  out[o + 1], out[o + 2], out[o + 3], out[o + 4] = renewed, units, limit, expires
end
return out
