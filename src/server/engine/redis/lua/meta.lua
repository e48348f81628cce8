-- A room's epoch (created on first use) and newest seq.
-- KEYS: 1 meta. ARGV: 1 a fresh epoch, 2 how long (ms) the meta of a room that never had
-- a message is kept. Returns {epoch, last}.
-- Reads and joins of any room name create its meta; one that never gets a message
-- expires (a later use makes a new epoch, which tells a resuming client to reload an
-- empty history: nothing is lost). The first append makes it permanent (PERSIST).
if redis.call('HSETNX', KEYS[1], 'epoch', ARGV[1]) == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
local v = redis.call('HMGET', KEYS[1], 'epoch', 'last')
return {v[1], tonumber(v[2] or '0')}
