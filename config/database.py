"""The connection pool's check: after a failover, drop every dead connection at once.

psycopg's pool checks a connection before handing it out (``check``); a connection that fails
is thrown away, and the client waits before trying the next one — 1 s, then 2, 4, 8 (the
pool's back-off, against a busy loop while the database is down). After a failover or
``pg_terminate_backend`` every idle connection of the pool is dead: trying them one by one,
the first request of a process would wait 1 + 2 + 4 + … seconds and run out of the pool's
10 s. So when one connection fails its check, every idle connection is checked at once
(``ConnectionPool.check``: the dead ones are replaced), and the waiting request gets a fresh
connection after the first second. Held by tests/faults/test_database_failover.py.
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, connections
from psycopg import Connection
from psycopg_pool import ConnectionPool


def pool_connection_check(conn: Connection) -> None:
    try:
        ConnectionPool.check_connection(conn)
    except Exception:
        connections[DEFAULT_DB_ALIAS].pool.check()
        raise
