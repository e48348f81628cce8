-- Stores one message and broadcasts it, atomically (a script runs alone in Redis).
-- KEYS: 1 meta (hash: epoch, last, bytes), 2 log (zset seq -> message JSON), 3 ids (zset client_id -> seq),
--       4 rxs, 5 rxc (reactions: react.lua)
-- ARGV: 1 client_id, 2 the message JSON after "ts" (starts with a comma), 3 a fresh epoch,
--       4 max messages kept (0: all), 5 max age in ms (0: any), 6 the room's channel,
--       7 max bytes kept (0: any; a message counts as its stored JSON),
--       8 "1" when the server holds its maximum of rooms (room_cap.rs),
--       9 what the keys of messages' reactors start with (then the seq),
--       10 the seq it replies to ('' when none)
-- Returns {1, seq, ts, fresh} when stored (fresh: 1 when the room held no message before),
-- {0, seq} when client_id was stored before as seq, {2} when refused by the cap on rooms,
-- {3} when the message it replies to is not in the log.
local dup = redis.call('ZSCORE', KEYS[3], ARGV[1])
if dup then
  return {0, tonumber(dup)}
end
if ARGV[10] ~= '' and not redis.call('ZRANGE', KEYS[2], ARGV[10], ARGV[10], 'BYSCORE')[1] then
  return {3}
end
local fresh = 1 - redis.call('EXISTS', KEYS[2])
if fresh == 1 and ARGV[8] == '1' then
  return {2}
end
redis.call('HSETNX', KEYS[1], 'epoch', ARGV[3])
-- A room with a message keeps its seq and epoch for good (meta.lua gave an unused one a TTL).
redis.call('PERSIST', KEYS[1])
if fresh == 1 then
  -- The log expired whole (or never was): it holds no bytes.
  redis.call('HSET', KEYS[1], 'bytes', 0)
end
local seq = redis.call('HINCRBY', KEYS[1], 'last', 1)
local t = redis.call('TIME')
local ts = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local member = '{"seq":' .. seq .. ',"ts":' .. ts .. ARGV[2]
redis.call('ZADD', KEYS[2], seq, member)
redis.call('ZADD', KEYS[3], seq, ARGV[1])
local bytes = redis.call('HINCRBY', KEYS[1], 'bytes', #member)
-- Drops the oldest message, keeping the byte count.
local function drop_oldest()
  local head = redis.call('ZRANGE', KEYS[2], 0, 0)
  if not head[1] then
    return nil
  end
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, 0)
  bytes = redis.call('HINCRBY', KEYS[1], 'bytes', -#head[1])
  return head[1]
end
local max = tonumber(ARGV[4])
if max > 0 then
  local n = redis.call('ZCARD', KEYS[2])
  for _ = 1, math.min(n - max, 1000) do
    drop_oldest()
  end
end
local max_bytes = tonumber(ARGV[7])
if max_bytes > 0 then
  -- The message just added always stays. Bounded per call, like the age below.
  for _ = 1, 1000 do
    if bytes <= max_bytes or redis.call('ZCARD', KEYS[2]) <= 1 then
      break
    end
    drop_oldest()
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
    drop_oldest()
  end
  redis.call('PEXPIRE', KEYS[2], max_age)
  redis.call('PEXPIRE', KEYS[3], max_age)
end
-- Idempotency keys live exactly as long as their messages.
local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if first[2] then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. first[2])
  -- And reactions as long as theirs.
  if redis.call('EXISTS', KEYS[4]) == 1 then
    local old = redis.call('ZRANGE', KEYS[4], '-inf', '(' .. first[2], 'BYSCORE')
    for _, m in ipairs(old) do
      redis.call('HDEL', KEYS[5], m)
      redis.call('DEL', ARGV[9] .. string.match(m, '^%d+'))
    end
    if old[1] then
      redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', '(' .. first[2])
    end
  end
end
redis.call('PUBLISH', ARGV[6], 'm' .. member)
return {1, seq, ts, fresh}
