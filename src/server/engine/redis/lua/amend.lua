-- Replaces one stored message (a delete or an edit), if it is still what the node read.
-- KEYS: 1 meta (hash: bytes), 2 log (zset seq -> message JSON), 3 rxs, 4 rxc,
--       5 rx:{seq} (reactions: react.lua).
-- ARGV: 1 seq, 2 the message JSON as read, 3 its new JSON, 4 "1" when it is deleted
--       (its reactions go with its text).
-- Returns 1 when replaced, 0 when the log no longer holds ARGV[2] at ARGV[1] (changed
-- or dropped meanwhile: read again).
local score = redis.call('ZSCORE', KEYS[2], ARGV[2])
if not score or tonumber(score) ~= tonumber(ARGV[1]) then
  return 0
end
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[3])
redis.call('HINCRBY', KEYS[1], 'bytes', #ARGV[3] - #ARGV[2])
if ARGV[4] == '1' then
  for _, m in ipairs(redis.call('ZRANGE', KEYS[3], ARGV[1], ARGV[1], 'BYSCORE')) do
    redis.call('HDEL', KEYS[4], m)
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[3], ARGV[1], ARGV[1])
  redis.call('DEL', KEYS[5])
end
return 1
