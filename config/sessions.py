"""Sessions in the database with a copy in the cache (Django's ``cached_db``), an existing
session saved in one statement.

Django's database store saves a session as a model: an UPDATE the ORM compiles on each save,
inside a transaction of its own (three round trips: BEGIN, UPDATE, COMMIT). A member's session is
saved whenever the cart changes and once a minute besides (config/session_refresh.py), so the
wizard's 「セーブ」 and the placing paid for it. Here that save is one UPDATE with the same text
each time (prepared by PostgreSQL), in autocommit; the result is the same: the row's data and
expiry, then the cache's copy, or ``UpdateError`` when the row is gone (the member logged out in
another tab, the session expired and was cleared), which ``SessionMiddleware`` answers as before.
A new session (a login, a cycled key) keeps Django's path.
"""

from __future__ import annotations

import logging
from functools import cache

from django.contrib.sessions.backends import cached_db
from django.contrib.sessions.backends.base import UpdateError
from django.db import connections, router

from subscriptions.compiled_queries import columns

logger = logging.getLogger("django.contrib.sessions")  # as cached_db's own messages


class SessionStore(cached_db.SessionStore):
    def save(self, must_create: bool = False) -> None:
        if must_create or self.session_key is None:
            super().save(must_create)
            return
        self._row_update()
        try:  # the copy, as cached_db writes it
            self._cache.set(self.cache_key, self._session, self.get_expiry_age())
        except Exception:
            logger.exception("Error saving to cache (%s)", self._cache)

    def _row_update(self) -> None:
        connection = connections[router.db_for_write(self.model)]
        expire_date = connection.ops.adapt_datetimefield_value(self.get_expiry_date())
        with connection.cursor() as cursor:
            cursor.execute(_update_sql(self.model), [self.encode(self._get_session()), expire_date, self.session_key])
            if cursor.rowcount != 1:
                raise UpdateError


@cache
def _update_sql(model) -> str:
    """The session's one statement, written once per process like the ledger's balance update
    (ssr_points/services.py)."""
    return "UPDATE {table} SET {data} = %s, {expiry} = %s WHERE {key} = %s".format(
        table=model._meta.db_table,
        data=columns(model, "session_data"),
        expiry=columns(model, "expire_date"),
        key=model._meta.pk.column,
    )
