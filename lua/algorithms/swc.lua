--[[ sliding-window-counter (swc): the previous window's count, weighted by its overlap with the
sliding window, plus the current window's count (the estimate Cloudflare published). Approximate.
KEYS  [1] hash { s = current window index (floor(now / window)), c = units in it, p = units in
      the window before }; within one window an admission is one HINCRBY
State expires at the end of the next window + grace. Twin: src/core/algorithms/sliding-window-counter.ts ]]

-- previous, current, the current window's index, and whether the stored state is that window's.
local function swc_counts(key, window, now)
  local index = math.floor(now / window)
  local stored = redis.call('HMGET', key, 's', 'c', 'p')
  local stored_index = tonumber(stored[1])
  if stored_index == index then return tonumber(stored[3]), tonumber(stored[2]), index, true end
  if stored_index == index - 1 then return tonumber(stored[2]), 0, index, false end
  return 0, 0, index, false
end

-- Same floating-point operations, in the same order, as the TypeScript twin.
local function swc_weighted(previous, elapsed, window)
  return (previous * (window - elapsed)) / window
end

local function swc_tally(previous, current, elapsed, window, window_end, now)
  local estimate = swc_weighted(previous, elapsed, window) + current
  local reset = 0
  if current > 0 then
    reset = window_end - now + window
  elseif previous > 0 then
    reset = window_end - now
  end
  return math.ceil(estimate), reset
end

local function swc_retry(previous, current, room, elapsed, window)
  if room - current >= 0 and previous > 0 then
    local needed_elapsed = window - ((room - current) * window) / previous
    return math.max(1, math.ceil(needed_elapsed - elapsed))
  end
  local until_next = window - elapsed
  if current <= room then return until_next end
  return until_next + math.ceil(window - (room * window) / current)
end

algorithms['swc'] = {
  evaluate = function(key, limit, window, cost, now)
    local previous, current, index, same = swc_counts(key, window, now)
    local start = index * window
    local elapsed, window_end = now - start, start + window
    local count, reset = swc_tally(previous, current, elapsed, window, window_end, now)
    local estimate = swc_weighted(previous, elapsed, window) + current
    if estimate + cost <= limit then
      if cost == 0 then return true, 0, count, reset, count, reset end
      local count_after, reset_after = swc_tally(previous, current + cost, elapsed, window, window_end, now)
      return true, 0, count, reset, count_after, reset_after, previous, same
    end
    return false, swc_retry(previous, current, limit - cost, elapsed, window), count, reset
  end,

  record = function(key, limit, window, cost, now, grace, count_after, previous, same)
    if same then
      redis.call('HINCRBY', key, 'c', int(cost))
    else
      local index = math.floor(now / window)
      redis.call('HSET', key, 's', int(index), 'c', int(cost), 'p', int(previous))
      redis.call('PEXPIRE', key, expiry_ms((index + 2) * window - now, grace))
    end
  end,

  -- This window's units first; what is left comes off the previous window's, which still weigh.
  refund = function(key, limit, window, cost, now, grace)
    local previous, current, index, same = swc_counts(key, window, now)
    if previous == 0 and current == 0 then return end
    local from_current = math.min(current, cost)
    local from_previous = math.min(previous, cost - from_current)
    redis.call('HSET', key, 's', int(index), 'c', int(current - from_current), 'p', int(previous - from_previous))
    -- A state rolled into this window must live to the end of the next one, as record would set
    -- it: later admissions in this window only HINCRBY and never touch the expiry.
    if not same then redis.call('PEXPIRE', key, expiry_ms((index + 2) * window - now, grace)) end
  end,
}
