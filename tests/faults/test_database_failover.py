"""The app's database sessions are terminated (a failover, ``pg_terminate_backend``) while
members walk the wizard against gunicorn with its connection pool (issue 10, break 7): no
request answers 500, and no exchange is half written.

Before: the pool handed out its dead connections and the next 4–6 requests answered 500.
Now every checkout is checked (``CONN_HEALTH_CHECKS``); a request whose connection is cut while
it runs is rolled back by PostgreSQL and answered 503 with Retry-After (config/errors.py).
"""

import threading
import time

import pytest
from django.db import connection

from tests.faults.conftest import WEB_APP_NAME, access_log_statuses, app_sessions, gunicorn, wait_for
from tests.faults.members import (
    Walk,
    exchange_walk,
    home_is_signed_in,
    ledger_matches_the_exchanges,
    signed_in,
    subscribed_member,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

POINTS = 5000
MEMBERS = 4
FAULT_SECONDS = 4


def terminate(pids) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid) AS t", [pids]
        )
        return cursor.fetchone()[0]


def test_terminated_database_sessions_cost_no_request_a_500_and_no_exchange_is_half_written(tmp_path, catalogue):
    members = [subscribed_member(catalogue, points=POINTS) for _ in range(MEMBERS)]
    with gunicorn(tmp_path, workers=2, DATABASE_POOL_MIN=2, DATABASE_POOL_MAX=4) as (base, log):
        sessions = [signed_in(base, member) for member in members]
        for session, member in zip(sessions, members, strict=True):
            assert home_is_signed_in(base, session, member)

        # 1. Every idle pooled connection is killed, as by a failover: the next requests get
        #    fresh connections (each checkout is checked), none of them a dead one.
        pooled = wait_for(lambda: app_sessions(WEB_APP_NAME), timeout=10, what="the pool's connections")
        assert terminate(pooled) == len(pooled)
        wait_for(lambda: not set(pooled) & set(app_sessions(WEB_APP_NAME)), timeout=10, what="them to be gone")
        for _ in range(3):
            for session, member in zip(sessions, members, strict=True):
                assert home_is_signed_in(base, session, member)
        assert set(access_log_statuses(log)) == {200}

        # 2. Mid-traffic: the members walk the wizard while the app's sessions are terminated
        #    every 0.2 s, then for as long again without.
        walks = [Walk() for _ in members]
        fault_over = threading.Event()
        traffic_over = threading.Event()
        terminated = []

        def walk_until_told(session, walk):
            while not traffic_over.is_set():
                exchange_walk(base, session, walk)

        def terminate_repeatedly():
            deadline = time.monotonic() + FAULT_SECONDS
            try:
                while time.monotonic() < deadline:
                    terminated.append(terminate(app_sessions(WEB_APP_NAME)))
                    time.sleep(0.2)
            finally:
                fault_over.set()
                connection.close()  # this thread's own session

        threads = [threading.Thread(target=walk_until_told, args=pair) for pair in zip(sessions, walks, strict=True)]
        killer = threading.Thread(target=terminate_repeatedly)
        for thread in [*threads, killer]:
            thread.start()
        try:
            assert fault_over.wait(timeout=FAULT_SECONDS + 30)
            after_fault = [len(walk.statuses) for walk in walks]
            time.sleep(FAULT_SECONDS)
        finally:
            fault_over.set()
            traffic_over.set()
            for thread in [*threads, killer]:
                thread.join(timeout=60)

        statuses = [status for walk in walks for _, status in walk.statuses]
        during = [status for walk, n in zip(walks, after_fault, strict=True) for _, status in walk.statuses[:n]]
        after = [status for walk, n in zip(walks, after_fault, strict=True) for _, status in walk.statuses[n + 1 :]]
        print(
            f"\n{len(statuses)} requests, {sum(terminated)} sessions terminated in {FAULT_SECONDS} s: "
            f"{during.count(503)} answered 503 during the fault, {len(walks[0].placed)}+ exchanges placed per member"
        )
        assert 500 not in statuses
        assert set(statuses) <= {200, 302, 503}, [
            (label, status) for walk in walks for label, status in walk.statuses if status == 400
        ]
        assert sum(terminated) > 0 and after and 503 not in after  # once it is over, all is well
        assert all(walk.placed for walk in walks), log.read_text()[-8000:]  # placed all along
        for session, member in zip(sessions, members, strict=True):
            assert home_is_signed_in(base, session, member)

    assert 500 not in access_log_statuses(log)  # gunicorn has stopped: its access log is complete
    for member in members:
        ledger_matches_the_exchanges(member, points_at_start=POINTS)
