"""The Lua that makes each quota operation one atomic step in Redis (see redis_state.py).

Rules the scripts keep:
- Lua numbers are doubles. Money goes to Redis as integer strings and is added with HINCRBY
  (exact 64-bit integers); Lua only compares sums, exact below 2**53.
- A number written back as text uses string.format: tostring() keeps only 14 digits.
- Bucket arithmetic repeats laneway.quota.memory's float operations in the same order, so both
  states decide alike.
- Settlement and release find the counters and buckets they touch in the reservation itself,
  keys not declared in KEYS: fine on one Redis server, not on Redis Cluster.

Layout under the namespace N:
    N:revoked            set of revoked key prefixes
    N:rate:<id>          a bucket: "<reference time> <seconds of refill owed then>"
    N:budget:<id>@<p>    hash of one budget's period p: settled, reserved, warned
    N:res:<rid>          one reservation, as JSON (below); no expiry
    N:reservations       sorted set of reservation ids by creation time
    N:epoch              the epoch: set when budgets were seeded from the ledger; a store that
                         lost its data has none (redis_recovery_scripts)
    N:seeding            the lock of the one replica seeding a new epoch (expires)
    N:lease:<owner>      an owner's lease, renewed while it runs (expires)
    N:reaped:<rid>       a reservation reaped after its owner's lease lapsed, as a hash: s
                         ("released" or "settled"), r (the reservation); expires after a day

A reservation is the JSON object Python writes (redis_state._reservation), every number in it a
string so that no digit is lost to doubles: {"a": amount, "c": created (Unix seconds), "o":
owner, "b": [[counter key, budget id, period, limit, soft threshold or ""], ...], "t": [[bucket
key, per minute, tokens charged], ...] for the tokens limits}. An owner is "<kind>:<id>"
("replica:..." today; a batch store's would be another kind, with its own lease).
"""

from __future__ import annotations

# A bucket is a string "<reference time> <seconds owed then>", expiring a minute after it would
# be full; no key is a full bucket. These mirror laneway.quota.memory's _debt and its updates.
_BUCKETS = """
local function bucket(key, now)
  local held = redis.call('GET', key)
  if not held then
    return now, 0
  end
  local since, debt = string.match(held, '^(%S+) (%S+)$')
  since = tonumber(since)
  debt = tonumber(debt)
  if now > since then
    debt = debt - (now - since)
    since = now
    if debt < 0 then
      debt = 0
    end
  end
  return since, debt
end
-- Checks nr buckets, KEYS[k0 + i], for costs ARGV[a0 + 2i] against limits ARGV[a0 + 2i - 1]
-- (per minute): returns each bucket's new {since, owed} if all fit, else nil and the refusal
-- {2, i, debt, retry ('' never)} naming the first that does not (memory's _charge_rates).
local function charge(k0, a0, nr, now)
  local owes = {}
  local refused = 0
  local refused_debt = 0
  local wait = 0
  local never = false
  for i = 1, nr do
    local per_minute = tonumber(ARGV[a0 + 2 * i - 1])
    local cost = tonumber(ARGV[a0 + 2 * i])
    local since, debt = bucket(KEYS[k0 + i], now)
    local fits = false
    if cost > per_minute then
      never = true
    else
      local owed = debt + cost * 60 / per_minute
      if owed <= 60 + 0.000001 then
        owes[i] = {since, owed}
        fits = true
      elseif owed - 60 > wait then
        wait = owed - 60
      end
    end
    if not fits and refused == 0 then
      refused = i
      refused_debt = debt
    end
  end
  if refused > 0 then
    local retry = ''
    if not never then
      retry = string.format('%.17g', wait)
    end
    return nil, {2, refused, string.format('%.17g', refused_debt), retry}
  end
  return owes, nil
end
local function keep(key, since, owed)
  if owed > 0 then
    redis.call('SET', key, string.format('%.17g %.17g', since, owed), 'EX', math.ceil(owed) + 60)
  else
    redis.call('DEL', key)
  end
end
"""

ADMIT = (
    _BUCKETS
    + """
-- KEYS: revoked set, reservation, reservation index, epoch, then nr bucket keys, then nb
--       counter keys
-- ARGV: now, reservation id, amount, has revocation (0/1), revocation, nr, nb, reservation JSON,
--       epoch ('' when the caller keeps none), then per rate limit: per minute, cost; then per
--       budget: limit, ttl (0 for none)
-- Returns {0} admitted, {1} revoked, {2, i, debt, retry ('' never)} rate limit i refused,
-- {3, j, used} budget j refused, {4} the epoch is not the caller's (the store lost its data, or
-- the caller has not caught up with a re-seed): budgets cannot be trusted, nothing charged.
local now = tonumber(ARGV[1])
if redis.call('EXISTS', KEYS[2]) == 1 then
  return {0}
end
if ARGV[4] == '1' and redis.call('SISMEMBER', KEYS[1], ARGV[5]) == 1 then
  return {1}
end
local nr = tonumber(ARGV[6])
local nb = tonumber(ARGV[7])
if nb > 0 and ARGV[9] ~= '' and redis.call('GET', KEYS[4]) ~= ARGV[9] then
  return {4}
end
local owes, refusal = charge(4, 9, nr, now)
if refusal then
  return refusal
end
local amount = tonumber(ARGV[3])
local b0 = 9 + 2 * nr
local fresh = {}
for j = 1, nb do
  local counts = redis.call('HMGET', KEYS[4 + nr + j], 'settled', 'reserved')
  local used = (tonumber(counts[1]) or 0) + (tonumber(counts[2]) or 0)
  if used + amount > tonumber(ARGV[b0 + 2 * j - 1]) then
    return {3, j, string.format('%.0f', used)}
  end
  fresh[j] = not counts[1] and not counts[2]
end
for i = 1, nr do
  keep(KEYS[4 + i], owes[i][1], owes[i][2])
end
for j = 1, nb do
  local key = KEYS[4 + nr + j]
  redis.call('HINCRBY', key, 'reserved', ARGV[3])
  local ttl = ARGV[b0 + 2 * j]
  if fresh[j] and ttl ~= '0' then  -- a period's counter gets its expiry once, when created
    redis.call('EXPIRE', key, ttl)
  end
end
redis.call('SET', KEYS[2], ARGV[8])
redis.call('ZADD', KEYS[3], ARGV[1], ARGV[2])
return {0}
"""
)

TAKE = (
    _BUCKETS
    + """
-- KEYS: bucket keys. ARGV: now, then per rate limit: per minute, cost.
-- Returns {0} charged, or {2, i, debt, retry ('' never)}: rate limit i refused, nothing charged.
local now = tonumber(ARGV[1])
local owes, refusal = charge(0, 1, #KEYS, now)
if refusal then
  return refusal
end
for i = 1, #KEYS do
  keep(KEYS[i], owes[i][1], owes[i][2])
end
return {0}
"""
)

# Takes the reservation out of KEYS[1] and the index KEYS[2] into the table r, or leaves r nil.
_TAKE_RESERVATION = """
local held = redis.call('GET', KEYS[1])
local r = nil
if held then
  r = cjson.decode(held)
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
end
"""

SETTLE = (
    _BUCKETS
    + """
-- KEYS: reservation, reservation index, epoch
-- ARGV: reservation id, now, actual cost, tokens ('' for none), epoch ('' when the caller keeps
--       none), tombstone prefix
-- Returns the soft thresholds crossed, four values each: budget id, period, limit, spent; or -1
-- when the reservation holds budgets and the epoch is not the caller's (nothing changed: the
-- caller counts it again once it has caught up).
local held = redis.call('GET', KEYS[1])
local reserved = held ~= false
if not reserved then
  -- Gone with the store's data (the epoch tells), or reaped while its owner still ran (its lease
  -- lapsed) and released then: its cost counts now, once (the tombstone turns to settled).
  if ARGV[5] ~= '' and redis.call('GET', KEYS[3]) ~= ARGV[5] then
    return -1
  end
  local stone = ARGV[6] .. ARGV[1]
  if redis.call('HGET', stone, 's') ~= 'released' then
    return {}
  end
  redis.call('HSET', stone, 's', 'settled')
  held = redis.call('HGET', stone, 'r')
end
local r = cjson.decode(held)
if reserved then
  if #r['b'] > 0 and ARGV[5] ~= '' and redis.call('GET', KEYS[3]) ~= ARGV[5] then
    return -1
  end
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
end
local crossed = {}
for _, b in ipairs(r['b']) do
  local key = b[1]
  -- A counter is gone only long after its period ended: nothing left to correct there.
  if redis.call('EXISTS', key) == 1 then
    if reserved and r['a'] ~= '0' then
      redis.call('HINCRBY', key, 'reserved', '-' .. r['a'])
    end
    local settled = redis.call('HINCRBY', key, 'settled', ARGV[3])
    if b[5] ~= '' and settled >= tonumber(b[5])
        and redis.call('HSETNX', key, 'warned', '1') == 1 then
      local n = #crossed
      crossed[n + 1] = b[2]
      crossed[n + 2] = b[3]
      crossed[n + 3] = b[4]
      crossed[n + 4] = string.format('%.0f', settled)
    end
  end
end
if reserved and ARGV[4] ~= '' then
  local now = tonumber(ARGV[2])
  local tokens = tonumber(ARGV[4])
  for _, t in ipairs(r['t']) do
    local cost = tonumber(t[3])
    if tokens ~= cost then
      local since, debt = bucket(t[1], now)
      keep(t[1], since, debt + (tokens - cost) * 60 / tonumber(t[2]))
    end
  end
end
return crossed
"""
)

RELEASE = (
    """
-- KEYS: reservation, reservation index. ARGV: reservation id. Returns 1 if it was held.
"""
    + _TAKE_RESERVATION
    + """
if r == nil then
  return 0
end
if r['a'] ~= '0' then
  for _, b in ipairs(r['b']) do
    if redis.call('EXISTS', b[1]) == 1 then
      redis.call('HINCRBY', b[1], 'reserved', '-' .. r['a'])
    end
  end
end
return 1
"""
)

SPEND = """
-- KEYS: counters. Returns settled and reserved of each, as integer strings.
local out = {}
for i = 1, #KEYS do
  local counts = redis.call('HMGET', KEYS[i], 'settled', 'reserved')
  out[2 * i - 1] = counts[1] or '0'
  out[2 * i] = counts[2] or '0'
end
return out
"""

OUTSTANDING = """
-- KEYS: reservation index. ARGV: exclusive score bound ('(' .. older than), reservation prefix.
-- Returns id and reservation JSON, in turn, oldest first.
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])) do
  local held = redis.call('GET', ARGV[2] .. id)
  if held then
    out[#out + 1] = id
    out[#out + 1] = held
  end
end
return out
"""

SEED = """
-- KEYS: counter. ARGV: settled, soft ('' for none), ttl (seconds, 0 for none).
-- Returns 1 if seeded, 0 if the counter already had a settled spend.
if redis.call('HSETNX', KEYS[1], 'settled', ARGV[1]) == 0 then
  return 0
end
if ARGV[2] ~= '' and tonumber(ARGV[1]) >= tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'warned', '1')
end
if ARGV[3] ~= '0' then
  redis.call('EXPIRE', KEYS[1], ARGV[3])
end
return 1
"""
