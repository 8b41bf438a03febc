--[[ sliding-window-log (swl): exact. Admit iff units in (now - window, now] + cost <= limit.
A weighted log: one entry per admitted check, whatever its cost.
KEYS  [1] the log: a list, oldest entry first, each 20 bytes, struct.pack('>ddI4', time, start,
      cost): the time it was recorded (µs, never decreasing, so the list is in time order),
      how many units the log had recorded before it (so the units of any stretch of entries are
      a difference of two numbers) and its units. A list appends, reads both ends and drops its
      head in O(1), where a sorted set would search on every insert.
Entries that left the window are dropped from the head by every check, and the key expires
window + grace after its newest entry. Twin: src/core/algorithms/sliding-window-log.ts ]]

local ENTRY = '>ddI4'

-- Whole stretches of expired entries after an idle spell are cut at once, found by binary search.
local SWL_POPS = 4

-- Index of the first entry in [low, high] for which `test(entry)` holds; it must hold for high.
local function swl_first(key, low, high, test)
  while low < high do
    local middle = math.floor((low + high) / 2)
    if test(redis.call('LINDEX', key, int(middle))) then high = middle else low = middle + 1 end
  end
  return low
end

-- Drop the entries at t <= edge from the head; the newest entry must be in the window. Returns
-- the oldest entry left.
local function swl_trim(key, edge)
  local oldest = redis.call('LINDEX', key, '0')
  for _ = 1, SWL_POPS do
    if struct.unpack(ENTRY, oldest) > edge then return oldest end
    redis.call('LPOP', key)
    oldest = redis.call('LINDEX', key, '0')
  end
  if struct.unpack(ENTRY, oldest) > edge then return oldest end
  local first = swl_first(key, 1, redis.call('LLEN', key) - 1, function(entry)
    return struct.unpack(ENTRY, entry) > edge
  end)
  redis.call('LTRIM', key, int(first), '-1')
  return redis.call('LINDEX', key, '0')
end

algorithms['swl'] = {
  evaluate = function(key, limit, window, cost, now)
    local edge = now - window
    local newest = redis.call('LINDEX', key, '-1')
    local newest_time, newest_start, newest_cost
    if newest then newest_time, newest_start, newest_cost = struct.unpack(ENTRY, newest) end
    if not newest or newest_time <= edge then
      -- Nothing left in the window: drop what is stale now, as the TypeScript twin forgets it (a
      -- clock that steps back must not find it again). UNLINK: a long log is freed off the main thread.
      if newest then redis.call('UNLINK', key) end
      if cost == 0 then return true, 0, 0, 0, 0, 0 end
      return true, 0, 0, 0, cost, window, now, 0
    end
    local oldest_time, oldest_start, oldest_cost = struct.unpack(ENTRY, swl_trim(key, edge))
    local finish = newest_start + newest_cost
    local count = finish - oldest_start
    local reset = newest_time + window - now
    if count + cost <= limit then
      if cost == 0 then return true, 0, count, reset, count, reset end
      -- Recorded at the newest entry's time if the clock stepped back, so the log stays sorted.
      local stamp = newest_time
      if now > stamp then stamp = now end
      return true, 0, count, reset, count + cost, stamp + window - now, stamp, finish
    end
    -- The cost fits once the (count + cost - limit)-th oldest unit has left the window.
    local unit = oldest_start + count + cost - limit
    local leaves = oldest_time
    if oldest_start + oldest_cost < unit then
      local index = swl_first(key, 1, redis.call('LLEN', key) - 1, function(entry)
        local _, start, entry_cost = struct.unpack(ENTRY, entry)
        return start + entry_cost >= unit
      end)
      leaves = struct.unpack(ENTRY, redis.call('LINDEX', key, int(index)))
    end
    return false, leaves + window - now, count, reset
  end,

  record = function(key, limit, window, cost, now, grace, count_after, stamp, start)
    -- A log whose every entry had left the window was dropped by evaluate: start is then 0.
    redis.call('RPUSH', key, struct.pack(ENTRY, stamp, start, cost))
    redis.call('PEXPIRE', key, expiry_ms(stamp + window - now, grace))
  end,

  -- Newest units first: whole entries go from the tail, the last one is shortened in place.
  refund = function(key, limit, window, cost, now)
    local newest = redis.call('LINDEX', key, '-1')
    if not newest or cost == 0 then return end
    local newest_time, newest_start, newest_cost = struct.unpack(ENTRY, newest)
    local edge = now - window
    if newest_time <= edge then
      redis.call('UNLINK', key)
      return
    end
    local _, oldest_start = struct.unpack(ENTRY, swl_trim(key, edge))
    local finish = newest_start + newest_cost
    if finish - oldest_start <= cost then
      redis.call('UNLINK', key)
      return
    end
    -- The first entry from which every entry to the newest can go whole: finish - start <= cost.
    local length = redis.call('LLEN', key)
    local first = swl_first(key, 0, length, function(entry)
      if not entry then return true end
      local _, start = struct.unpack(ENTRY, entry)
      return finish - start <= cost
    end)
    local owed = cost
    if first < length then
      local _, start = struct.unpack(ENTRY, redis.call('LINDEX', key, int(first)))
      owed = owed - (finish - start)
      redis.call('LTRIM', key, '0', int(first - 1))
    end
    if owed > 0 then
      local time, start, entry_cost = struct.unpack(ENTRY, redis.call('LINDEX', key, '-1'))
      redis.call('LSET', key, '-1', struct.pack(ENTRY, time, start, entry_cost - owed))
    end
  end,
}
