-- The reaction counts of a page of messages: lo <= seq <= hi.
-- KEYS: 1 rxs (zset seq -> "seq emoji"), 2 rxc (hash "seq emoji" -> count). ARGV: 1 lo, 2 hi.
-- Returns {"seq emoji", count, ...}.
local out = {}
local members = redis.call('ZRANGE', KEYS[1], ARGV[1], ARGV[2], 'BYSCORE')
for _, m in ipairs(members) do
  out[#out + 1] = m
  out[#out + 1] = tonumber(redis.call('HGET', KEYS[2], m) or '0')
end
return out
