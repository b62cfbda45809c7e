"""Redis is unreachable — refusing, then silent — under gunicorn: members stay signed in, log in,
place exchanges and log out; nothing answers 500; the outage is logged; and a session logged out
meanwhile does not come back with Redis (sessions live in the database only).
"""

import time

import pytest
import requests

from bench.load.wizard import CSRF, field
from config.cache import DEGRADED_RETRY_SECONDS, DegradingRedisCache
from tests.faults.conftest import access_log_statuses, gunicorn, redis_proxy, redis_url
from tests.faults.members import (
    TIMEOUT,
    Walk,
    exchange_walk,
    home_is_signed_in,
    ledger_matches_the_exchanges,
    subscribed_member,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery-42"
POINTS = 5000


def log_in(base: str, identifier: str, password: str = PASSWORD) -> tuple[requests.Session, requests.Response]:
    session = requests.Session()
    page = session.get(f"{base}/login/", timeout=TIMEOUT)
    assert page.status_code == 200
    data = {"username": identifier, "password": password, "csrfmiddlewaretoken": field(CSRF, page.text)}
    return session, session.post(f"{base}/login/", data=data, allow_redirects=False, timeout=TIMEOUT)


def log_out(base: str, session: requests.Session) -> requests.Response:
    page = session.get(f"{base}/", timeout=TIMEOUT)
    data = {"csrfmiddlewaretoken": field(CSRF, page.text)}
    return session.post(f"{base}/logout/", data=data, allow_redirects=False, timeout=TIMEOUT)


@pytest.fixture
def members(catalogue, settings):
    # The app verifies passwords with its own hashers (the tests hash with MD5 for speed).
    settings.PASSWORD_HASHERS = ["config.passwords.Argon2idPasswordHasher"]
    made = []
    for _ in range(3):
        member = subscribed_member(catalogue, points=POINTS)
        member.user.set_password(PASSWORD)
        member.user.save(update_fields=["password"])
        made.append(member)
    return made


def test_with_redis_unreachable_members_stay_signed_in_log_in_place_and_log_out(tmp_path, queue, members):
    regular, newcomer, leaving = members
    proxy = redis_proxy()
    proxy.up()
    try:
        with gunicorn(tmp_path, REDIS_URL=redis_url(proxy.port), CELERY_TASK_DEFAULT_QUEUE=queue) as (base, log):
            regular_session, response = log_in(base, regular.member_number)
            assert response.status_code == 302
            leaving_session, response = log_in(base, leaving.member_number)
            assert response.status_code == 302
            old_cookie = leaving_session.cookies["sessionid"]
            assert home_is_signed_in(base, regular_session, regular)

            proxy.down()  # Redis refuses: cache and broker gone
            assert home_is_signed_in(base, regular_session, regular)  # still signed in
            walk = Walk()
            exchange_walk(base, regular_session, walk)
            assert walk.placed, walk.statuses
            newcomer_session, response = log_in(base, newcomer.member_number)  # a login now
            assert response.status_code == 302, response.text[:500]
            assert home_is_signed_in(base, newcomer_session, newcomer)
            _, refused = log_in(base, newcomer.member_number, password="wrong")  # axes counts it
            assert refused.status_code == 200 and "sessionid" not in refused.cookies
            assert log_out(base, leaving_session).status_code == 302

            proxy.silent()  # Redis accepts connections and never answers
            time.sleep(DEGRADED_RETRY_SECONDS + 0.5)  # so the next request tries it again
            started = time.monotonic()
            assert home_is_signed_in(base, regular_session, regular)
            exchange_walk(base, regular_session, walk)
            assert len(walk.placed) == 2, walk.statuses
            silent_seconds = time.monotonic() - started

            proxy.up()
            time.sleep(DEGRADED_RETRY_SECONDS + 0.5)  # the app tries Redis again after this
            assert home_is_signed_in(base, newcomer_session, newcomer)
            assert home_is_signed_in(base, regular_session, regular)
            # The session logged out during the outage stays logged out.
            stale = requests.get(f"{base}/", cookies={"sessionid": old_cookie}, allow_redirects=False, timeout=TIMEOUT)
            assert stale.status_code == 302 and "/login/" in stale.headers["Location"]

        # gunicorn has stopped: its logs are complete.
        text = log.read_text()
        statuses = access_log_statuses(log)
        print(f"\n{len(statuses)} requests; a home page and an exchange with Redis silent: {silent_seconds:.1f} s")
        assert 500 not in statuses and set(statuses) <= {200, 302}
        assert "unreachable" in text
    finally:
        proxy.close()
    ledger_matches_the_exchanges(regular, points_at_start=POINTS)


def test_the_cache_misses_while_redis_is_unreachable_and_reaches_it_again_after(monkeypatch, caplog):
    """config/cache.py: reads miss and writes are skipped while Redis is away, no error; the same
    cache object answers again once Redis is back."""
    monkeypatch.setattr("config.cache.DEGRADED_RETRY_SECONDS", 0.0)
    proxy = redis_proxy()
    proxy.up()
    try:
        cache = DegradingRedisCache(
            redis_url(proxy.port), {"OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}}
        )
        cache.set("counter", 1)
        assert cache.incr("counter") == 2
        proxy.down()
        assert cache.get("counter", "missed") == "missed"  # a miss while unreachable, not an error
        cache.set("counter", 7)  # skipped
        with pytest.raises(ValueError):
            cache.incr("counter")  # as for a missing key: the caller starts its count again
        assert "unreachable" in caplog.text
        proxy.up()
        assert cache.get("counter") == 2  # the write during the outage was skipped
        cache.set("counter", 3)
        assert cache.get("counter") == 3
        assert "reachable again" in caplog.text
    finally:
        proxy.close()
