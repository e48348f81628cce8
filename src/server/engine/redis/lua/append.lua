-- Stores one message and broadcasts it, atomically (a script runs alone in Redis).
-- KEYS: 1 meta (hash: epoch, last), 2 log (zset seq -> message JSON), 3 ids (zset client_id -> seq)
-- ARGV: 1 client_id, 2 the message JSON after "ts" (starts with a comma), 3 a fresh epoch,
--       4 max messages kept (0: all), 5 max age in ms (0: any), 6 the room's channel
-- Returns {1, seq, ts} when stored, {0, seq} when client_id was stored before as seq.
local dup = redis.call('ZSCORE', KEYS[3], ARGV[1])
if dup then
  return {0, tonumber(dup)}
end
redis.call('HSETNX', KEYS[1], 'epoch', ARGV[3])
-- A room with a message keeps its seq and epoch for good (meta.lua gave an unused one a TTL).
redis.call('PERSIST', KEYS[1])
local seq = redis.call('HINCRBY', KEYS[1], 'last', 1)
local t = redis.call('TIME')
local ts = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local member = '{"seq":' .. seq .. ',"ts":' .. ts .. ARGV[2]
redis.call('ZADD', KEYS[2], seq, member)
redis.call('ZADD', KEYS[3], seq, ARGV[1])
local max = tonumber(ARGV[4])
if max > 0 then
  local n = redis.call('ZCARD', KEYS[2])
  if n > max then
    redis.call('ZREMRANGEBYRANK', KEYS[2], 0, n - max - 1)
  end
end
local max_age = tonumber(ARGV[5])
if max_age > 0 then
  -- Oldest first; the message just added is never too old. Bounded per call: a room
  -- that sat idle past the age has no log at all (the PEXPIRE below).
  for _ = 1, 1000 do
    local head = redis.call('ZRANGE', KEYS[2], 0, 0)
    local head_ts = head[1] and tonumber(string.match(head[1], '^{"seq":%d+,"ts":(%d+)'))
    if not head_ts or head_ts >= ts - max_age then
      break
    end
    redis.call('ZREMRANGEBYRANK', KEYS[2], 0, 0)
  end
  redis.call('PEXPIRE', KEYS[2], max_age)
  redis.call('PEXPIRE', KEYS[3], max_age)
end
-- Idempotency keys live exactly as long as their messages.
local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if first[2] then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. first[2])
end
redis.call('PUBLISH', ARGV[6], 'm' .. member)
return {1, seq, ts}
