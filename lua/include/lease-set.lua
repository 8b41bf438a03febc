--[[ lease set: the leases of one key, shared by the lease entry scripts (lua/leases/*.lua).
Twin: src/core/lease-set.ts. A lease is live while its expiry is later than now; every call
first drops the leases that are not, so a holder that died frees its units at its expiry.
KEYS  [1] the leases: a sorted set, lease id -> expiry (µs, server clock)
      [2] their ledger: a hash, lease id -> units, plus `units` (held by all of them) and
      `limit` (of the latest admitted acquire). Both keys expire `grace` ms after the latest
      lease could, and are deleted when the last lease goes.
Work: O(log n) a call, plus the leases it drops; each lease is dropped once, and a key holds at
most `limit` <= 10^6 of them. ]]

-- Expired leases are read and dropped this many at a time (unpack's stack stays small).
local LEASE_TRIM_CHUNK = 500

local function lease_units(ledger)
  local units = redis.call('HGET', ledger, 'units')
  if units then return tonumber(units) end
  return 0
end

-- Drop the leases whose expiry is not later than now; returns the units the live ones hold.
local function lease_trim(set, ledger, now)
  local oldest = redis.call('ZRANGE', set, '0', '0', 'WITHSCORES')
  if #oldest == 0 then return 0 end
  if tonumber(oldest[2]) > now then return lease_units(ledger) end
  local newest = redis.call('ZRANGE', set, '-1', '-1', 'WITHSCORES')
  if tonumber(newest[2]) <= now then
    -- All expired (an idle key, a crashed holder): gone at once, whatever their number.
    redis.call('DEL', set, ledger)
    return 0
  end
  local units = lease_units(ledger)
  while true do
    local ids = redis.call('ZRANGE', set, '-inf', int(now), 'BYSCORE', 'LIMIT', '0', int(LEASE_TRIM_CHUNK))
    if #ids == 0 then break end
    local held = redis.call('HMGET', ledger, unpack(ids))
    for i = 1, #held do units = units - tonumber(held[i]) end
    redis.call('ZREM', set, unpack(ids))
    redis.call('HDEL', ledger, unpack(ids))
    if #ids < LEASE_TRIM_CHUNK then break end
  end
  redis.call('HSET', ledger, 'units', int(units))
  return units
end

-- Keep both keys until `grace` ms after a lease that expires `ttl` µs from now. A set just made
-- has no expiry yet; an older one keeps a later expiry it already has (GT).
local function lease_expire(set, ledger, ttl, grace, fresh)
  local ms = expiry_ms(ttl, grace)
  if fresh then
    redis.call('PEXPIRE', set, ms)
    redis.call('PEXPIRE', ledger, ms)
  else
    redis.call('PEXPIRE', set, ms, 'GT')
    redis.call('PEXPIRE', ledger, ms, 'GT')
  end
end
