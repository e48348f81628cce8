-- Messages with after < seq < until, and the oldest seq still kept, in one snapshot.
-- KEYS: 1 log, 2 meta. ARGV: 1 after, 2 until, 3 max.
-- Returns {oldest kept seq (last + 1 when none is kept), {message JSON...}}.
local last = tonumber(redis.call('HGET', KEYS[2], 'last') or '0')
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local oldest = last + 1
if first[2] then
  oldest = tonumber(first[2])
end
local msgs = redis.call('ZRANGE', KEYS[1], '(' .. ARGV[1], '(' .. ARGV[2], 'BYSCORE', 'LIMIT', 0, ARGV[3])
return {oldest, msgs}
