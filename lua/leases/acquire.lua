--[[ lease acquire: acquires a store coalesced, each atomic on its own, in order (a later one
of the same key sees an earlier one's units). Each admits iff the units of the key's live leases
plus `cost` <= `limit`; a denied acquire holds nothing, and a cost of 0 looks without holding.
KEYS  two per acquire, in order: [1] the leases  [2] their ledger (see include/lease-set.lua)
ARGV  [1] now (µs, or "" for Redis TIME)  [2] grace (ms), then four per acquire: the new
      lease's id (made by the caller: random, 22 characters), limit, ttl (µs), cost
Reply four integers per acquire: allowed (1|0, or -1 when its id is in use: nothing taken),
      in flight (units held after), retry_after (µs until the earliest live lease expires; 0
      when allowed), expires_in (µs: the ttl when a lease was taken, else 0) ]]

local now = now_us(ARGV[1])
local grace = tonumber(ARGV[2])
local out = {}
for i = 1, #KEYS / 2 do
  local at, o = 4 * i - 1, 4 * i - 4
  local lease_id = ARGV[at]
  local limit, ttl, cost = tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3])
  local set, ledger = KEYS[2 * i - 1], KEYS[2 * i]
  local units = lease_trim(set, ledger, now)
  if units + cost > limit then
    local earliest = redis.call('ZRANGE', set, '0', '0', 'WITHSCORES')
    local retry = 0
    if #earliest > 0 then retry = tonumber(earliest[2]) - now end
    out[o + 1], out[o + 2], out[o + 3], out[o + 4] = 0, units, retry, 0
  elseif cost == 0 then
    out[o + 1], out[o + 2], out[o + 3], out[o + 4] = 1, units, 0, 0
  elseif redis.call('ZADD', set, 'NX', int(now + ttl), lease_id) == 0 then
    out[o + 1], out[o + 2], out[o + 3], out[o + 4] = -1, units, 0, 0
  else
    redis.call('HSET', ledger, lease_id, int(cost), 'units', int(units + cost), 'limit', int(limit))
    lease_expire(set, ledger, ttl, grace, units == 0)
    out[o + 1], out[o + 2], out[o + 3], out[o + 4] = 1, units + cost, 0, ttl
  end
end
return out
