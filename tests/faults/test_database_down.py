"""PostgreSQL is unreachable — refusing, then silent — under gunicorn with its connection pool:
every request that needs it is answered 503 with Retry-After within the pool's wait, never 500;
an exchange placed meanwhile and a shipped event sent meanwhile write nothing; once the
database is back the app reconnects by itself, the member's retry places the exchange once and
the event's resend grants once.

A silent database (it accepts connections and never answers) costs each request the pool's
wait, like a refusing one; each connection attempt gives up after ``DATABASE_CONNECT_TIMEOUT``
(config/settings.py), so the pool's few workers are free again to reconnect.
"""

import re
import time

import pytest
import requests
from django.db import connection

from bench.load.wizard import CSRF, FINGERPRINT, KEY
from bench.load.wizard import field as form_field
from exchange.models import Exchange
from fulfilment.models import PendingGrant
from fulfilment.tasks import order_grant_task
from order_events.models import OrderEvent
from ssr_points.models import Lot
from subscriptions.models import SubscriptionOrder
from tests.factories import CreatedOrderFactory
from tests.faults.conftest import (
    REQUEST_TIMEOUT,
    access_log_statuses,
    gunicorn,
    shipped_event,
    test_database_url,
    through_port,
    wait_for,
)
from tests.faults.members import TIMEOUT, home_is_signed_in, ledger_matches_the_exchanges, signed_in, subscribed_member
from tests.faults.proxy import TcpProxy

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

POINTS = 5000
POOL_TIMEOUT = 3  # seconds a request waits for a connection before its 503
CONNECT_TIMEOUT = 2


def database_proxy() -> TcpProxy:
    db = connection.settings_dict
    return TcpProxy(db.get("HOST") or "127.0.0.1", int(db.get("PORT") or 5432))


def confirmation(base: str, session: requests.Session, product_id: int) -> dict:
    """Put one product in the cart and read the confirmation's form: what 「変更を保存」 posts."""
    path = f"{base}/exchange/products/{product_id}/"
    page = session.get(path, timeout=TIMEOUT)
    data = {"quantity": "1", "action": "save", "csrfmiddlewaretoken": form_field(CSRF, page.text)}
    assert session.post(path, data=data, allow_redirects=False, timeout=TIMEOUT).status_code == 302
    page = session.get(f"{base}/exchange/confirm/", timeout=TIMEOUT)
    assert page.status_code == 200
    return {
        "idempotency_key": form_field(KEY, page.text),
        "fingerprint": form_field(FINGERPRINT, page.text),
        "agree": "on",
        "csrfmiddlewaretoken": form_field(CSRF, page.text),
    }


def place(base: str, session: requests.Session, form: dict) -> requests.Response:
    return session.post(f"{base}/exchange/confirm/", data=form, allow_redirects=False, timeout=REQUEST_TIMEOUT)


def unavailable(response: requests.Response, seconds: float) -> bool:
    return response.status_code == 503 and response.headers.get("Retry-After") == "5" and seconds < POOL_TIMEOUT + 3


def timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_with_the_database_unreachable_requests_are_503_nothing_is_written_and_the_app_reconnects(
    tmp_path, catalogue, queue
):
    member = subscribed_member(catalogue, points=POINTS)
    order = CreatedOrderFactory(member=member)
    proxy = database_proxy()
    proxy.up()
    try:
        with gunicorn(
            tmp_path,
            DATABASE_URL=through_port(test_database_url(), proxy.port),
            DATABASE_POOL_MIN=2,
            DATABASE_POOL_MAX=4,
            DATABASE_POOL_TIMEOUT=POOL_TIMEOUT,
            DATABASE_CONNECT_TIMEOUT=CONNECT_TIMEOUT,
            CELERY_TASK_DEFAULT_QUEUE=queue,
        ) as (base, log):
            session = signed_in(base, member)
            assert home_is_signed_in(base, session, member)
            form = confirmation(base, session, catalogue["shaker"].pk)

            for outage in (proxy.down, proxy.silent):  # refusing, then accepting and never answering
                outage()
                home, seconds = timed(lambda: session.get(f"{base}/", allow_redirects=False, timeout=REQUEST_TIMEOUT))
                assert unavailable(home, seconds), (home.status_code, seconds)
                assert "Nothing was saved" in home.text or "保存されていません" in home.text
                placed, seconds = timed(lambda: place(base, session, form))
                assert unavailable(placed, seconds), (placed.status_code, seconds)
                event, seconds = shipped_event(base, order)
                assert unavailable(event, seconds), (event.status_code, seconds)
                assert event.json()["error"] == "unavailable"

                # Nothing of either was written.
                assert not Exchange.objects.filter(member=member).exists()
                assert not OrderEvent.objects.exists()
                order.refresh_from_db()
                assert order.status == SubscriptionOrder.Status.CREATED
                assert not PendingGrant.objects.filter(order=order).exists()

                # Back: the app reconnects by itself (no restart), within a bounded wait.
                proxy.up()
                wait_for(lambda: home_is_signed_in(base, session, member), timeout=30, what="the app to reconnect")

            # The member taps again: the exchange is placed once. The commerce system resends
            # the event: the order ships and owes its grant once.
            placed = place(base, session, form)
            assert placed.status_code == 302 and "/exchange/done/" in placed.headers["Location"]
            again = place(base, session, form)
            assert again.status_code in {200, 302}
            assert Exchange.objects.filter(member=member).count() == 1
            event, _ = shipped_event(base, order)
            assert (event.status_code, event.json()["status"]) == (202, "accepted"), event.text
            event, _ = shipped_event(base, order)
            assert (event.status_code, event.json()["status"]) == (202, "duplicate"), event.text
            order.refresh_from_db()
            assert order.status == SubscriptionOrder.Status.SHIPPED
            assert OrderEvent.objects.count() == PendingGrant.objects.filter(order=order).count() == 1

        statuses = access_log_statuses(log)
        print(f"\n{len(statuses)} requests: {sorted(set(statuses))}")
        assert 500 not in statuses and set(statuses) <= {200, 202, 302, 503}
        assert re.search(r'"POST /exchange/confirm/ HTTP/1\.[01]" 503 ', log.read_text())
    finally:
        proxy.close()
    ledger_matches_the_exchanges(member, points_at_start=POINTS)
    # The grant it owes is paid once, however often its task runs (a worker, the sweep).
    order_grant_task(order.pk)
    order_grant_task(order.pk)
    assert Lot.objects.filter(order=order).count() == 1
    assert not PendingGrant.objects.filter(order=order).exists()
