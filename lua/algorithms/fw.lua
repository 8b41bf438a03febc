--[[ fixed-window (fw): windows aligned to multiples of the window since the Unix epoch.
KEYS  [1] hash { s = window index (floor(now / window)), c = units recorded in that window };
      within one window an admission is one HINCRBY (the expiry was set when the window began)
State expires at the window's end + grace. Twin: src/core/algorithms/fixed-window.ts ]]

-- Units recorded in the window `index`, and whether the stored state is that window's.
local function fw_count(key, index)
  local stored = redis.call('HMGET', key, 's', 'c')
  if tonumber(stored[1]) == index then return tonumber(stored[2]), true end
  return 0, false
end

algorithms['fw'] = {
  evaluate = function(key, limit, window, cost, now)
    local index = math.floor(now / window)
    local until_end = (index + 1) * window - now
    local count, current = fw_count(key, index)
    local reset = 0
    if count > 0 then reset = until_end end
    if count + cost > limit then return false, until_end, count, reset end
    if cost == 0 then return true, 0, count, reset, count, reset end
    return true, 0, count, reset, count + cost, until_end, index, current
  end,

  record = function(key, limit, window, cost, now, grace, count_after, index, current)
    if current then
      redis.call('HINCRBY', key, 'c', int(cost))
    else
      redis.call('HSET', key, 's', int(index), 'c', int(count_after))
      redis.call('PEXPIRE', key, expiry_ms((index + 1) * window - now, grace))
    end
  end,

  -- Units of an earlier window no longer count: there is nothing of theirs to give back.
  refund = function(key, limit, window, cost, now)
    local count, current = fw_count(key, math.floor(now / window))
    if current then redis.call('HSET', key, 'c', int(math.max(0, count - cost))) end
  end,
}
