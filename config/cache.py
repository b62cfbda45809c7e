"""Redis as Django's cache, degrading to "no cache" while Redis is unreachable.

The cache holds nothing the app must trust: the password-reset counters (config/password_reset.py).
Sessions live in the database (docs/security.md). So while Redis is down or silent a read is a
miss, a write or delete is skipped, an ``incr`` finds no key (the counters start again), the
outage is logged once per process, and no request gets a 500 (docs/faults.md).

Socket timeouts bound one attempt (``OPTIONS``); after a failure the process does not touch Redis
for ``DEGRADED_RETRY_SECONDS``, so a silent Redis costs one timeout per process every few
seconds, not one per request.
"""

from __future__ import annotations

import logging
import threading
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
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


_breakers: dict[str, _Breaker] = {}


class DegradingRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self.location = server
        self.breaker = _breakers.setdefault(str(server), _Breaker())

    def _call(self, operation, fallback):
        breaker = self.breaker
        if breaker.down_until and time.monotonic() < breaker.down_until:
            return fallback
        try:
            result = operation()
        except UNREACHABLE as error:
            self._trip(error)
            return fallback
        if breaker.down_until:
            with breaker.lock:
                breaker.down_until = 0.0
            logger.warning("Redis cache at %s reachable again.", self.location)
        return result

    def _trip(self, error: Exception) -> None:
        breaker = self.breaker
        with breaker.lock:
            first = not breaker.down_until
            breaker.down_until = time.monotonic() + DEGRADED_RETRY_SECONDS
        if first:
            logger.warning(
                "Redis cache at %s unreachable (%s): working without it; next try in %s s.",
                self.location,
                error,
                DEGRADED_RETRY_SECONDS,
            )

    # -- the cache API: reads miss, writes are skipped while Redis is unreachable ------------------

    def get(self, key, default=None, version=None):
        return self._call(lambda: super(DegradingRedisCache, self).get(key, default, version), default)

    def get_many(self, keys, version=None):
        return self._call(lambda: super(DegradingRedisCache, self).get_many(keys, version), {})

    def has_key(self, key, version=None):
        return self._call(lambda: super(DegradingRedisCache, self).has_key(key, version), False)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call(lambda: super(DegradingRedisCache, self).add(key, value, timeout, version), False)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        self._call(lambda: super(DegradingRedisCache, self).set(key, value, timeout, version), None)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call(lambda: super(DegradingRedisCache, self).set_many(data, timeout, version), list(data))

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call(lambda: super(DegradingRedisCache, self).touch(key, timeout, version), False)

    def delete(self, key, version=None):
        return self._call(lambda: super(DegradingRedisCache, self).delete(key, version), False)

    def delete_many(self, keys, version=None):
        self._call(lambda: super(DegradingRedisCache, self).delete_many(keys, version), None)

    def incr(self, key, delta=1, version=None):
        """Unreachable: the key is missing (Django's ``ValueError``), so a counter starts again;
        the password-reset limits are not applied while Redis is down (docs/security.md).
        ``decr`` is ``incr`` with ``-delta``."""
        missing = object()
        value = self._call(lambda: super(DegradingRedisCache, self).incr(key, delta, version), missing)
        if value is missing:
            raise ValueError(f"Key '{key}' not found: the cache is unreachable.")
        return value

    def clear(self):
        return self._call(lambda: super(DegradingRedisCache, self).clear(), False)
