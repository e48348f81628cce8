-- Records one node's whole list of its members of a room and broadcasts the list, or
-- only what changed (engine/presence.rs).
-- KEYS: 1 presence (hash: node -> {"at","ttl_ms","v","names"}).
-- ARGV: 1 node id, 2 names JSON (an object; "{}" when the node has left), 3 ttl in ms,
--       4 the room's channel, 5 the list's version, 6 the delta to publish ('d{...}'),
--       or '' to publish the whole list.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[2] == '{}' then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1],
    '{"at":' .. now .. ',"ttl_ms":' .. ARGV[3] .. ',"v":' .. ARGV[5] .. ',"names":' .. ARGV[2] .. '}')
  -- The hash outlives its newest entry a little; entries are filtered by age on read.
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 2)
end
if ARGV[6] ~= '' then
  redis.call('PUBLISH', ARGV[4], ARGV[6])
else
  redis.call('PUBLISH', ARGV[4],
    'p{"node":"' .. ARGV[1] .. '","ttl_ms":' .. ARGV[3] .. ',"v":' .. ARGV[5] .. ',"names":' .. ARGV[2] .. '}')
end
return 1
