"""The broker is unreachable while orders ship (issue 10, break 4): gunicorn answers the signed
shipped events 202 at once and never 500; when the broker is back, a real worker and the grant
sweep pay every grant, exactly once.

Before: the event answered 500 after 19 s (the result store's reconnection attempts), with the
order committed as shipped and no grant task; the sweep looked back 35 days only.
"""

from decimal import Decimal

import pytest
from django.utils import timezone

from fulfilment.models import PendingGrant
from fulfilment.tasks import order_grant_task
from jobs.tasks import sweep_grants_task
from ssr_points.models import Entry, Lot, PointAccount
from subscriptions.models import SubscriptionOrder
from tests.factories import CreatedOrderFactory
from tests.faults.conftest import (
    access_log_statuses,
    celery_worker,
    gunicorn,
    redis_proxy,
    redis_url,
    shipped_event,
    wait_for,
)

pytestmark = [pytest.mark.postgres, pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


def grants(order) -> tuple[int, int]:
    return Lot.objects.filter(order=order).count(), Entry.objects.filter(order=order, kind=Entry.Kind.GRANT).count()


def test_orders_shipped_while_the_broker_is_down_get_their_points_exactly_once_when_it_is_back(tmp_path, queue):
    refused, silent, healthy = (
        CreatedOrderFactory(pv=Decimal(pv), created_at=timezone.now()) for pv in ("180", "300", "500")
    )
    proxy = redis_proxy()
    proxy.up()
    try:
        # Every request tries the broker (no back-off), so both kinds of outage are measured.
        with gunicorn(
            tmp_path,
            REDIS_URL=redis_url(proxy.port),
            CELERY_TASK_DEFAULT_QUEUE=queue,
            FULFILMENT_BROKER_BACKOFF_SECONDS=0,
        ) as (base, web_log):
            proxy.down()  # the broker's port refuses
            response, refused_seconds = shipped_event(base, refused)
            assert response.status_code == 202, response.text
            proxy.silent()  # the broker accepts connections and never answers
            response, silent_seconds = shipped_event(base, silent)
            assert response.status_code == 202, response.text
            print(
                f"\nshipped event answered 202 in {refused_seconds:.2f} s (broker refusing), "
                f"{silent_seconds:.2f} s (broker silent)"
            )
            for order in (refused, silent):
                order.refresh_from_db()
                assert order.status == SubscriptionOrder.Status.SHIPPED
                assert PendingGrant.objects.filter(order=order).exists() and grants(order) == (0, 0)
            assert "the broker is unreachable" in web_log.read_text()

            proxy.up()  # the broker is back: the next shipment's task goes through
            response, _ = shipped_event(base, healthy)
            assert response.status_code == 202, response.text
        # gunicorn has stopped: its access log is complete.
        assert 500 not in access_log_statuses(web_log)
        assert access_log_statuses(web_log).count(202) == 3
    finally:
        proxy.close()

    with celery_worker(tmp_path, queue=queue, JOBS_GRANT_SWEEP_GRACE_SECONDS=0) as (worker, worker_log):
        wait_for(lambda: grants(healthy) == (1, 1), timeout=60, what="the healthy order's task", logs=[worker_log])
        assert grants(refused) == grants(silent) == (0, 0)  # their messages never reached the broker
        summary = sweep_grants_task.apply_async(ignore_result=False).get(timeout=60)
        assert (summary["status"], summary["lots"], summary["points"]) == ("succeeded", 2, 18 + 30)
        # Everything again: late messages for every order and a second sweep grant nothing more.
        for order in (refused, silent, healthy):
            order_grant_task.delay(order.pk)
        assert sweep_grants_task.apply_async(ignore_result=False).get(timeout=60)["status"] == "nothing pending"
        wait_for(
            lambda: worker_log.read_text().count("order_grant_task") >= 2 * 4,  # received + succeeded, 4 messages
            timeout=60,
            what="the late messages",
            logs=[worker_log],
        )
        assert worker.poll() is None
    for order, points in ((refused, 18), (silent, 30), (healthy, 50)):
        assert grants(order) == (1, 1)
        assert PointAccount.objects.get(member=order.member).balance == points
    assert not PendingGrant.objects.exists()
