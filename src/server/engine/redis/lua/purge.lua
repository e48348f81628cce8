-- Deletes a room's whole history and gives it a new epoch (the operator's, /admin).
-- KEYS: 1 meta (hash: epoch, last, bytes), 2 log, 3 ids, 4 rxs, 5 rxc. ARGV: 1 the new
-- epoch, 2 how long the meta of a room without messages lives (ms), 3 what the keys of
-- messages' reactors start with (then the seq).
for _, m in ipairs(redis.call('ZRANGE', KEYS[4], 0, -1)) do
  redis.call('DEL', ARGV[3] .. string.match(m, '^%d+'))
end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5])
redis.call('HSET', KEYS[1], 'epoch', ARGV[1], 'last', 0, 'bytes', 0)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
