-- Adds or takes back one reaction, atomically, if the message is stored and not deleted.
-- KEYS: 1 log (zset seq -> message JSON), 2 rxs (zset seq -> "seq emoji"),
--       3 rxc (hash "seq emoji" -> count), 4 rx:{seq} (hash "emoji who" -> "ts|name")
-- ARGV: 1 seq, 2 emoji, 3 who, 4 name, 5 "1" on / "0" off, 6 max distinct emoji,
--       7 max age in ms (0: any)
-- Emoji hold no whitespace, so a space separates them from seqs and reactor keys.
-- Returns {0} when there is no such message, {2} for one emoji too many,
-- {1, changed, emoji, count, emoji, count, ...} otherwise.
local found = redis.call('ZRANGE', KEYS[1], ARGV[1], ARGV[1], 'BYSCORE')
if not found[1] or string.find(found[1], '"deleted":true', 1, true) then
  return {0}
end
local member = ARGV[1] .. ' ' .. ARGV[2]
local field = ARGV[2] .. ' ' .. ARGV[3]
local changed = 0
if ARGV[5] == '1' then
  if redis.call('HEXISTS', KEYS[4], field) == 0 then
    if redis.call('HEXISTS', KEYS[3], member) == 0
        and redis.call('ZCOUNT', KEYS[2], ARGV[1], ARGV[1]) >= tonumber(ARGV[6]) then
      return {2}
    end
    local t = redis.call('TIME')
    local ts = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    redis.call('HSET', KEYS[4], field, ts .. '|' .. ARGV[4])
    redis.call('HINCRBY', KEYS[3], member, 1)
    redis.call('ZADD', KEYS[2], ARGV[1], member)
    changed = 1
  end
elseif redis.call('HDEL', KEYS[4], field) == 1 then
  if redis.call('HINCRBY', KEYS[3], member, -1) <= 0 then
    redis.call('HDEL', KEYS[3], member)
    redis.call('ZREM', KEYS[2], member)
  end
  changed = 1
end
local max_age = tonumber(ARGV[7])
if max_age > 0 then
  redis.call('PEXPIRE', KEYS[2], max_age)
  redis.call('PEXPIRE', KEYS[3], max_age)
  redis.call('PEXPIRE', KEYS[4], max_age)
end
local out = {1, changed}
local members = redis.call('ZRANGE', KEYS[2], ARGV[1], ARGV[1], 'BYSCORE')
for _, m in ipairs(members) do
  local n = tonumber(redis.call('HGET', KEYS[3], m) or '0')
  if n > 0 then
    out[#out + 1] = string.sub(m, #ARGV[1] + 2)
    out[#out + 1] = n
  end
end
return out
