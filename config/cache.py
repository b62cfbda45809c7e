"""Redis as Django's cache, degrading to "no cache" while Redis is unreachable.

The cache only ever holds copies: the sessions live in PostgreSQL (``cached_db``), Redis
spares the session query on most requests. So while Redis is down or silent a read is a
miss (the session is read from the database), a write or delete is skipped, an ``incr`` finds
no key (the password-reset counters start again), the outage is logged once, and nobody is
logged out or gets a 500 (issue 10, break 9).

- **Fast while down.** Socket timeouts bound one attempt (``OPTIONS``); after a failure the
  process does not touch Redis for ``DEGRADED_RETRY_SECONDS``, so a silent Redis costs one
  timeout per process every few seconds, not one per request.
- **No stale copy survives the outage.** A write or delete that was skipped leaves Redis
  holding an older copy (a session logged out meanwhile would come back). Before its first
  call after the outage, the process pings Redis and deletes every key under the
  ``stale_prefixes`` option (the sessions): they are read again from the database. Limit:
  while only some processes see Redis down, the others may read a copy older than the
  database for that while.
"""

from __future__ import annotations

import logging
import threading
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)
DEGRADED_RETRY_SECONDS = 5.0


class _Breaker:
    """The state of one Redis server as this process sees it (shared by its threads' caches)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.down_until = 0.0  # monotonic; 0: reachable
        self.missed_writes = False  # a write or delete was skipped: copies may be stale


_breakers: dict[str, _Breaker] = {}


class KeptClientRedisCacheClient(RedisCacheClient):
    """Django's client, keeping one ``redis.Redis`` per connection pool.

    Django's makes a new ``redis.Redis`` for every call, and each fills its table of ~170 reply
    callbacks: ~60 µs of CPU here, on every request (the session's read), as much as the
    ``GET`` itself (docs/performance.md). A ``redis.Redis`` holds no connection of its own (each
    command takes one from the pool and gives it back), so one can serve every call of the
    cache it belongs to, as redis-py's documentation says of sharing a client between threads.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class DegradingRedisCache(RedisCache):
    def __init__(self, server, params):
        options = dict(params.get("OPTIONS", {}))
        self.stale_prefixes = tuple(options.pop("stale_prefixes", ()))
        super().__init__(server, {**params, "OPTIONS": options})
        self._class = KeptClientRedisCacheClient
        self._breaker = _breakers.setdefault(";".join(self._servers), _Breaker())

    # -- the breaker ---------------------------------------------------------------------------

    def _call(self, operation, fallback, *, writes: bool):
        breaker = self._breaker
        if breaker.down_until and not self._back():
            if writes:
                breaker.missed_writes = True
            return fallback
        try:
            return operation()
        except UNREACHABLE as error:
            self._trip(error, writes=writes)
            return fallback

    def _back(self) -> bool:
        """Down: whether it is time to try again and Redis answers (then stale copies go first)."""
        if time.monotonic() < self._breaker.down_until:
            return False
        try:
            self._cache.get_client(write=True).ping()
        except UNREACHABLE as error:
            self._trip(error, writes=False)
            return False
        self._recovered()
        return True

    def _trip(self, error: Exception, *, writes: bool) -> None:
        breaker = self._breaker
        with breaker.lock:
            first = not breaker.down_until
            breaker.down_until = time.monotonic() + DEGRADED_RETRY_SECONDS
            breaker.missed_writes = breaker.missed_writes or writes
        if first:
            logger.warning(
                "Redis cache at %s unreachable (%s): working without it (sessions from the database); "
                "next try in %s s.",
                self._servers[0],
                error,
                DEGRADED_RETRY_SECONDS,
            )

    def _recovered(self) -> None:
        breaker = self._breaker
        with breaker.lock:
            if not breaker.down_until:
                return
            breaker.down_until = 0.0
            missed, breaker.missed_writes = breaker.missed_writes, False
        dropped = self._stale_copies_drop() if missed else 0
        logger.warning("Redis cache at %s reachable again; %s copies dropped as stale.", self._servers[0], dropped)

    def _stale_copies_drop(self) -> int:
        client = self._cache.get_client(write=True)
        dropped = 0
        try:
            for prefix in self.stale_prefixes:
                batch = []
                for key in client.scan_iter(match=self.make_key(prefix) + "*", count=1000):
                    batch.append(key)
                    if len(batch) == 1000:
                        dropped += client.unlink(*batch)
                        batch = []
                if batch:
                    dropped += client.unlink(*batch)
        except UNREACHABLE as error:
            self._trip(error, writes=True)  # gone again: drop them on the next recovery
        return dropped

    # -- the cache API: reads miss, writes are skipped while Redis is unreachable ------------------

    def get(self, key, default=None, version=None):
        return self._call(lambda: super(DegradingRedisCache, self).get(key, default, version), default, writes=False)

    def get_many(self, keys, version=None):
        return self._call(lambda: super(DegradingRedisCache, self).get_many(keys, version), {}, writes=False)

    def has_key(self, key, version=None):
        return self._call(lambda: super(DegradingRedisCache, self).has_key(key, version), False, writes=False)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call(
            lambda: super(DegradingRedisCache, self).add(key, value, timeout, version), False, writes=True
        )

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        self._call(lambda: super(DegradingRedisCache, self).set(key, value, timeout, version), None, writes=True)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call(
            lambda: super(DegradingRedisCache, self).set_many(data, timeout, version), list(data), writes=True
        )

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call(lambda: super(DegradingRedisCache, self).touch(key, timeout, version), False, writes=True)

    def delete(self, key, version=None):
        return self._call(lambda: super(DegradingRedisCache, self).delete(key, version), False, writes=True)

    def delete_many(self, keys, version=None):
        self._call(lambda: super(DegradingRedisCache, self).delete_many(keys, version), None, writes=True)

    def incr(self, key, delta=1, version=None):
        """Unreachable: the key is missing (Django's ``ValueError``), so a counter starts again;
        the password-reset limits are not applied while Redis is down (docs/security.md).
        ``decr`` is ``incr`` with ``-delta``."""
        missing = object()
        value = self._call(lambda: super(DegradingRedisCache, self).incr(key, delta, version), missing, writes=True)
        if value is missing:
            raise ValueError(f"Key '{key}' not found: the cache is unreachable.")
        return value

    def clear(self):
        return self._call(lambda: super(DegradingRedisCache, self).clear(), False, writes=True)
