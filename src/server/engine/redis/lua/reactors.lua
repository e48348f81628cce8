-- Who reacted to one message, if it is stored and not deleted.
-- KEYS: 1 log, 2 rx:{seq} (hash "emoji who" -> "ts|name"). ARGV: 1 seq.
-- Returns {0} when there is no such message, else {1, field, value, field, value, ...}.
local found = redis.call('ZRANGE', KEYS[1], ARGV[1], ARGV[1], 'BYSCORE')
if not found[1] or string.find(found[1], '"deleted":true', 1, true) then
  return {0}
end
local out = {1}
for _, v in ipairs(redis.call('HGETALL', KEYS[2])) do
  out[#out + 1] = v
end
return out
