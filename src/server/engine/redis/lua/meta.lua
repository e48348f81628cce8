-- A room's epoch (created on first use) and newest seq.
-- KEYS: 1 meta. ARGV: 1 a fresh epoch. Returns {epoch, last}.
redis.call('HSETNX', KEYS[1], 'epoch', ARGV[1])
local v = redis.call('HMGET', KEYS[1], 'epoch', 'last')
return {v[1], tonumber(v[2] or '0')}
