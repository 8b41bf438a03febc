--[[ quota-report: one RLQS report of one (quota bucket, stream), decided atomically with every other
stream of the bucket. The twin of src/core/quota-allocator.ts (fairTargets, shortfallOfOthers,
largestFit, grantFor); the stores' conformance suite runs the same sequences against both.
docs/rlqs.md states the bound.

KEYS[1]  the bucket's hash: field = stream, value = "want:tokens:burst:expires_ms:demand"
ARGV     stream, want, demand (text, shown only), capacity, budget, k (fills per bound window),
         assignable, band (hysteresis), burst_fraction, hold_ms, now_ms ('' = Redis TIME),
         live_grant (what the stream holds live at its proxy, '' for none: grantAfterLoss)
Reply    {tokens granted, burst (max_tokens), live streams, tokens held by all, expires_ms} ]]

local key = KEYS[1]
local stream = ARGV[1]
local want = tonumber(ARGV[2])
local demand = ARGV[3]
local capacity = tonumber(ARGV[4])
local budget = tonumber(ARGV[5])
local k = tonumber(ARGV[6])
local assignable = tonumber(ARGV[7])
local band = tonumber(ARGV[8])
local burst_fraction = tonumber(ARGV[9])
local hold_ms = tonumber(ARGV[10])
local now = tonumber(ARGV[11])
local live_grant = tonumber(ARGV[12])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function int(x) return string.format('%d', x) end
local function burst_for(tokens)
  if tokens <= 0 then return 0 end
  return math.max(1, math.ceil(tokens * burst_fraction))
end
local function cost(tokens) return tokens * k + burst_for(tokens) end

-- The live streams; expired ones are dropped (their proxies no longer enforce them).
local entries = redis.call('HGETALL', key)
local others = {}
local held_by = {}
local others_tokens, others_cost, held, latest = 0, 0, 0, now
local recorded = false
local expired = {}
for i = 1, #entries, 2 do
  local id = entries[i]
  local w, t, b, e = string.match(entries[i + 1], '^(%d+):(%d+):(%d+):(%d+):')
  w, t, b, e = tonumber(w), tonumber(t), tonumber(b), tonumber(e)
  if e <= now then
    expired[#expired + 1] = id
  elseif id == stream then
    held = t
    recorded = true
  else
    others[#others + 1] = { id, w }
    held_by[id] = t
    others_tokens = others_tokens + t
    others_cost = others_cost + t * k + b
    if e > latest then latest = e end
  end
end
if #expired > 0 then redis.call('HDEL', key, unpack(expired)) end

-- fairTargets: water filling over the wants, in (want, stream) order.
local ordered = { { stream, want } }
for i = 1, #others do ordered[#ordered + 1] = others[i] end
table.sort(ordered, function(a, b)
  if a[2] ~= b[2] then return a[2] < b[2] end
  return a[1] < b[1]
end)
-- shortfallOfOthers: what the others short of their targets by more than the band would take.
local target = 0
local short_tokens, short_cost = 0, 0
local function place(id, t)
  if id == stream then
    target = t
  elseif t - held_by[id] > band then
    short_tokens = short_tokens + t - held_by[id]
    short_cost = short_cost + cost(t) - cost(held_by[id])
  end
end
local remaining = math.max(0, assignable)
for index = 1, #ordered do
  local left = #ordered - index + 1
  local share = math.floor(remaining / left)
  local w = ordered[index][2]
  if w <= share then
    place(ordered[index][1], w)
    remaining = remaining - w
  else
    local odd = remaining - share * left
    for rest = index, #ordered do
      local t = share
      if rest - index < odd then t = share + 1 end
      place(ordered[rest][1], t)
    end
    break
  end
end

-- largestFit and grantFor: only out of what the other live streams do not hold.
local function largest_fit(wanted, extra_tokens, extra_cost)
  local room = budget - others_cost - extra_cost
  local tokens = math.min(wanted, capacity - others_tokens - extra_tokens, math.floor(room / (k + burst_fraction)))
  while tokens > 0 and cost(tokens) > room do tokens = tokens - 1 end
  return math.max(0, tokens)
end
local grant
if held > 0 and math.abs(target - held) <= band and largest_fit(held, 0, 0) == held
  and (held <= target or largest_fit(held, short_tokens, short_cost) == held) then
  grant = held
else
  grant = largest_fit(target, 0, 0)
end
-- grantAfterLoss: a live assignment the store has no record of was lost with the state.
if not recorded and live_grant ~= nil and grant > live_grant then grant = live_grant end
local burst = burst_for(grant)

local expires = now + hold_ms
redis.call('HSET', key, stream, int(want) .. ':' .. int(grant) .. ':' .. int(burst) .. ':' .. int(expires) .. ':' .. demand)
if expires > latest then latest = expires end
redis.call('PEXPIRE', key, int(latest - now + 1000))
return { grant, burst, #others + 1, others_tokens + grant, expires }
