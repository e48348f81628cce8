-- Every node's presence record for a room, with Redis's clock to age them by.
-- KEYS: 1 presence. Returns {now in ms, {node, record, node, record, ...}}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return {now, redis.call('HGETALL', KEYS[1])}
