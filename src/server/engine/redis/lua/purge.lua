-- Deletes a room's whole history and gives it a new epoch (the operator's, /admin).
-- KEYS: 1 meta (hash: epoch, last, bytes), 2 log, 3 ids. ARGV: 1 the new epoch,
-- 2 how long the meta of a room without messages lives (ms).
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('HSET', KEYS[1], 'epoch', ARGV[1], 'last', 0, 'bytes', 0)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
