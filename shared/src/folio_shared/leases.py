"""Leased slots in Redis: a semaphore whose holders give their slot back
even when their process dies.

A slot is one member of a sorted set scored with its lease's end (Redis's
own clock, ``TIME``, so hosts' clocks never disagree). Taking a slot first
drops the members whose lease ended, then admits the new one when fewer
than the limit remain; a holder renews its lease while it holds the slot
and removes its member when done. A holder killed without removing it
frees the slot when its lease ends: a plain counter (Dramatiq's
``ConcurrentRateLimiter``) would keep it taken for good.

Used by the per-kind ``concurrency`` limit (:mod:`folio_shared.jobs.limits`)
and the API's per-key cap on open event streams.

Both scripts take the set's key as ``KEYS[1]``:

- :data:`ACQUIRE_SCRIPT` ``ARGV``: limit, lease in ms, member; returns 1
  when the member got a slot, else 0.
- :data:`RENEW_SCRIPT` ``ARGV``: lease in ms, member; extends a member
  still held (a member whose lease already ended is not brought back).
"""

ACQUIRE_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
  return 1
end
return 0
"""

RENEW_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
return 1
"""
