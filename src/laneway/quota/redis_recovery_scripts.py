"""The Lua of the Redis state's recovery: epochs (a store that lost its data is noticed and
re-seeded from the ledger), and leases (reservations of an owner that stopped renewing are
reaped). Keys as in redis_scripts' layout; the request path's side is in its ADMIT and SETTLE.

Counters are only ever raised here, never lowered: a count that survived (a partial loss, a
replica that still counts) may be higher than the ledger's, and over-counting only refuses early.
"""

from __future__ import annotations

SEED_EPOCH = """
-- KEYS: seeding lock, epoch. ARGV: the lock's token, the new epoch, and JSON [[counter key,
-- settled, soft threshold or '', ttl (0 none)], ...]: every budget's period, from the ledger.
-- Returns 1 when seeded and the epoch set; 0 when the lock is no longer the caller's, or another
-- replica set an epoch meanwhile (its seed stands).
if redis.call('GET', KEYS[1]) ~= ARGV[1] or redis.call('EXISTS', KEYS[2]) == 1 then
  return 0
end
for _, c in ipairs(cjson.decode(ARGV[3])) do
  local key = c[1]
  local held = tonumber(redis.call('HGET', key, 'settled') or '0')
  local seed = tonumber(c[2])
  if seed > held then
    redis.call('HSET', key, 'settled', c[2])
    held = seed
  end
  if c[3] ~= '' and held > 0 and held >= tonumber(c[3]) then
    redis.call('HSET', key, 'warned', '1')
  end
  if c[4] ~= '0' and redis.call('TTL', key) == -1 then
    redis.call('EXPIRE', key, c[4])
  end
end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('DEL', KEYS[1])
return 1
"""

REGISTER = """
-- KEYS: epoch, reservation index, the caller's lease. ARGV: the caller's epoch, reservation
-- prefix, tombstone prefix, JSON {"r": [[id, created, amount, reservation JSON, [[counter key,
-- ttl], ...]], ...], "s": [[amount, [[counter key, ttl], ...]], ...]} (the caller's
-- reservations, each added unless held already; spend it settled that the epoch may not count,
-- added to settled), and the lease length (ms).
-- Returns 1 when registered, 0 when the epoch is not the caller's (nothing changed). The lease
-- is renewed with them: a store that lost its data lost the leases too, and what is registered
-- must not look like a lapsed owner's.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[3], '1', 'PX', ARGV[5])
local function count(key, field, amount, ttl)
  local fresh = redis.call('EXISTS', key) == 0
  redis.call('HINCRBY', key, field, amount)
  if fresh and ttl ~= '0' then
    redis.call('EXPIRE', key, ttl)
  end
end
local p = cjson.decode(ARGV[4])
for _, e in ipairs(p['r']) do
  local key = ARGV[2] .. e[1]
  if redis.call('EXISTS', key) == 0 then
    redis.call('SET', key, e[4])
    redis.call('ZADD', KEYS[2], e[2], e[1])
    redis.call('DEL', ARGV[3] .. e[1])
    if e[3] ~= '0' then
      for _, c in ipairs(e[5]) do
        count(c[1], 'reserved', e[3], c[2])
      end
    end
  end
end
for _, e in ipairs(p['s']) do
  if e[1] ~= '0' then
    for _, c in ipairs(e[2]) do
      count(c[1], 'settled', e[1], c[2])
    end
  end
end
return 1
"""

LEASE = """
-- KEYS: the owner's lease, epoch. ARGV: lease length (ms), the owner's epoch.
-- Renews the lease. Returns {1 if it was still held (0: it lapsed), 1 if the epoch is the
-- owner's}.
local had = redis.call('SET', KEYS[1], '1', 'PX', ARGV[1], 'GET')
local same = 0
if redis.call('GET', KEYS[2]) == ARGV[2] then
  same = 1
end
if had then
  return {1, same}
end
return {0, same}
"""

REAPABLE = """
-- KEYS: reservation index. ARGV: exclusive score bound ('(' .. created before), reservation
-- prefix, lease prefix, how many of the oldest to look at.
-- Returns the ids of those whose owner's lease has lapsed.
local out = {}
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[4])
for _, id in ipairs(ids) do
  local held = redis.call('GET', ARGV[2] .. id)
  if held then
    local owner = cjson.decode(held)['o']
    if owner and redis.call('EXISTS', ARGV[3] .. owner) == 0 then
      out[#out + 1] = id
    end
  end
end
return out
"""

REAP = """
-- KEYS: reservation, reservation index, epoch.
-- ARGV: id, lease prefix, cost settled in the ledger ('' to release), tombstone prefix,
-- tombstone ttl, the reaper's epoch.
-- Reaps one reservation whose owner's lease lapsed: settled at the ledger's cost, or released;
-- a tombstone says which, so that a late settlement by an owner that still ran counts once.
-- Returns 1 if reaped; 0 if it is gone, its owner renewed, or the epoch is not the reaper's.
local held = redis.call('GET', KEYS[1])
if not held then
  return 0
end
local r = cjson.decode(held)
if not r['o'] or redis.call('EXISTS', ARGV[2] .. r['o']) == 1 then
  return 0
end
if #r['b'] > 0 and redis.call('GET', KEYS[3]) ~= ARGV[6] then
  return 0
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
for _, b in ipairs(r['b']) do
  if redis.call('EXISTS', b[1]) == 1 then
    if r['a'] ~= '0' then
      redis.call('HINCRBY', b[1], 'reserved', '-' .. r['a'])
    end
    if ARGV[3] ~= '' then
      redis.call('HINCRBY', b[1], 'settled', ARGV[3])
    end
  end
end
local stone = ARGV[4] .. ARGV[1]
local status = 'settled'
if ARGV[3] == '' then
  status = 'released'
end
redis.call('HSET', stone, 's', status, 'r', held)
redis.call('EXPIRE', stone, ARGV[5])
return 1
"""
