"""No grant is ever lost, whatever is down (issue 10, break 4): the shipment records the grant
it owes (``PendingGrant``, the outbox) in its own transaction; the task or the sweep writes
the lot and clears the row together; a grant pending for any length of time is delivered.

Through the signed HTTP event where the shipment comes from outside. The broker really is
unreachable here (a closed port); tests/faults/test_broker_down.py does the same against
gunicorn and a real worker.
"""

import datetime as dt
import time
from decimal import Decimal

import pytest
from django.utils import timezone

from config.broker import broker_backoff
from fulfilment.grants import order_grant, pending_grants_deliver
from fulfilment.models import PendingGrant
from fulfilment.services import order_mark_returned, order_mark_shipped
from fulfilment.tasks import order_grant_enqueue
from jobs.models import JobRun
from jobs.services import grants_sweep
from ssr_points.models import Entry, Lot, PointAccount
from subscriptions.models import SubscriptionOrder
from tests.factories import CreatedOrderFactory, MemberFactory, OrderFactory, SubscriptionFactory
from tests.order_events.test_views import SHIPPED, body_for, post

LATER = dt.timedelta(minutes=5)  # the sweep leaves grants younger than its grace to their task


@pytest.fixture
def order(db):
    return CreatedOrderFactory(pv=Decimal("180"), created_at=timezone.now() - dt.timedelta(days=1))


def grants(order):
    return Lot.objects.filter(order=order).count(), Entry.objects.filter(order=order, kind=Entry.Kind.GRANT).count()


def test_a_shipped_event_with_the_broker_down_is_accepted_and_owes_its_grant_until_the_sweep_pays_it(
    client, order, settings, broker_unreachable, django_capture_on_commit_callbacks, assert_ledger_ok
):
    settings.ORDER_EVENTS_SECRET = "test-order-events-secret"
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post(client, SHIPPED, body_for(order))
    elapsed = time.monotonic() - started
    assert response.status_code == 202, response.content  # committed, so never a 500 now
    assert len(callbacks) == 1 and broker_backoff.active()  # the send was tried, failed, and logged
    order.refresh_from_db()
    assert order.status == SubscriptionOrder.Status.SHIPPED
    assert PendingGrant.objects.filter(order=order).exists() and grants(order) == (0, 0)
    print(f"shipped event answered in {elapsed:.2f} s with the broker down")

    run = grants_sweep(now=timezone.now() + LATER)
    assert (run.status, run.lots, run.points) == (JobRun.Status.SUCCEEDED, 1, 18)
    assert grants(order) == (1, 1) and not PendingGrant.objects.exists()
    assert grants_sweep(now=timezone.now() + LATER) is None  # nothing pending: no run recorded
    order_grant(order=order)  # the task's message after all (a redelivery)
    assert grants(order) == (1, 1)
    assert PointAccount.objects.get(member=order.member).balance == 18
    assert_ledger_ok()


def test_while_the_broker_is_down_a_process_stops_trying_for_a_while(broker_unreachable, caplog):
    assert order_grant_enqueue(1) is False
    assert broker_backoff.active()
    started = time.monotonic()
    assert order_grant_enqueue(2) is False  # not even a connection attempt
    assert time.monotonic() - started < 0.5
    assert "broker is unreachable" in caplog.text and "the grant sweep delivers it" in caplog.text


def test_a_grant_pending_for_more_than_a_year_is_still_delivered(db, assert_ledger_ok):
    """The old sweep looked back 35 days: an order whose task was lost earlier never got its points."""
    order = CreatedOrderFactory(pv=Decimal("300"))
    order_mark_shipped(order=order)  # on commit is not run here: the message never arrives
    PendingGrant.objects.filter(order=order).update(created_at=timezone.now() - dt.timedelta(days=400))
    SubscriptionOrder.objects.filter(pk=order.pk).update(shipped_at=timezone.now() - dt.timedelta(days=400))
    run = grants_sweep()
    assert (run.lots, run.points) == (1, 30)
    lot = Lot.objects.get(order=order)
    assert lot.granted_at >= run.started_at  # granted when written, with its full 12 months
    assert not PendingGrant.objects.exists()
    assert_ledger_ok()


def test_the_grant_and_its_pending_row_go_together_in_one_transaction(db):
    order = CreatedOrderFactory(pv=Decimal("180"))
    order_mark_shipped(order=order)
    assert PendingGrant.objects.filter(order=order, member=order.member).count() == 1
    lot = order_grant(order=order)
    assert lot.amount == 18 and not PendingGrant.objects.exists()
    assert order_grant(order=order).pk == lot.pk  # twice: the same lot, nothing pending
    order_mark_shipped(order=order)  # shipped again: already shipped, nothing owed anew
    assert not PendingGrant.objects.exists()


def test_an_order_returned_before_its_grant_owes_nothing(db, assert_ledger_ok):
    order = CreatedOrderFactory(pv=Decimal("180"))
    order_mark_shipped(order=order)
    order_mark_returned(order=order, reason="返品")
    assert not PendingGrant.objects.exists()
    assert order_grant(order=order) is None  # the late task grants nothing
    assert grants(order) == (0, 0)
    assert grants_sweep(now=timezone.now() + LATER) is None
    assert_ledger_ok()


def test_the_sweep_clears_orders_that_earn_nothing_or_came_back_meanwhile(db, assert_ledger_ok):
    zero = CreatedOrderFactory(pv=Decimal("9"))  # floor(9 × 10 %) = 0
    returned = CreatedOrderFactory(pv=Decimal("180"))
    for order in (zero, returned):
        order_mark_shipped(order=order)
    SubscriptionOrder.objects.filter(pk=returned.pk).update(status=SubscriptionOrder.Status.RETURNED)
    run = grants_sweep(now=timezone.now() + LATER)
    assert (run.items, run.lots, run.points) == (2, 0, 0)
    assert not PendingGrant.objects.exists() and not Lot.objects.exists()
    assert_ledger_ok()


def test_the_sweep_leaves_a_grant_younger_than_its_grace_to_the_task(db, settings):
    settings.JOBS_GRANT_SWEEP_GRACE_SECONDS = 60
    order = CreatedOrderFactory(pv=Decimal("180"))
    order_mark_shipped(order=order)
    assert grants_sweep() is None  # 0 s old: its task was just sent
    assert grants_sweep(now=timezone.now() + dt.timedelta(seconds=61)).lots == 1


def test_the_sweep_delivers_in_member_order_batches_each_grant_once(db, assert_ledger_ok):
    members = [MemberFactory() for _ in range(3)]
    orders = []
    for member in members:
        subscription = SubscriptionFactory(member=member)
        for day in range(3):
            order = CreatedOrderFactory(
                subscription=subscription, pv=Decimal("100"), shipment_date=dt.date(2026, 1, 1 + day)
            )
            order_mark_shipped(order=order)
            orders.append(order)
    seen = []
    result = pending_grants_deliver(before=timezone.now(), batch_size=2, progress=seen.append)
    assert (result.orders, result.lots, result.points, result.batches) == (9, 9, 90, 5)
    assert [batch.orders for batch in seen] == [2, 2, 2, 2, 1]
    assert pending_grants_deliver(before=timezone.now()).lots == 0
    assert Entry.objects.filter(kind=Entry.Kind.GRANT).count() == 9
    for member in members:
        assert PointAccount.objects.get(member=member).balance == 30
    assert_ledger_ok()


def test_orders_shipped_before_the_outbox_existed_are_owed_their_grant(db, assert_ledger_ok):
    """The migration records a pending grant for every shipped order without a lot, however old."""
    from importlib import import_module

    from django.apps import apps
    from django.db import connection

    backfill = import_module("fulfilment.migrations.0002_pending_grants_backfill").pending_grants_backfill
    old = OrderFactory(pv=Decimal("180"), shipped_at=timezone.now() - dt.timedelta(days=900))
    granted = OrderFactory(pv=Decimal("180"))
    order_grant(order=granted)
    CreatedOrderFactory()  # not shipped: nothing owed

    class SchemaEditor:
        pass

    editor = SchemaEditor()
    editor.connection = connection
    backfill(apps, editor)
    assert list(PendingGrant.objects.values_list("order_id", flat=True)) == [old.pk]
    run = grants_sweep(now=timezone.now() + LATER)
    assert run.lots == 1 and grants(old) == (1, 1)
    assert_ledger_ok()
