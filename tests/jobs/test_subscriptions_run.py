"""The daily subscription run: due subscriptions become orders with their bundled exchanges."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from exchange.exceptions import NotCancellable
from exchange.models import Exchange
from exchange.services import exchange_cancel, exchange_place
from fulfilment.services import orders_mark_shipped
from jobs.models import JobRun
from jobs.services import subscriptions_run
from ssr_points.models import Lot
from ssr_points.services import points_adjust
from subscriptions.models import Subscription, SubscriptionOrder
from subscriptions.services import shipment_date_next, subscription_save
from tests.factories import CreatedOrderFactory, MemberFactory, StaffUserFactory
from tests.jobs.conftest import tokyo

TODAY = dt.date(2026, 3, 10)
NOW = tokyo(2026, 3, 10, 1, 0)


def subscribe(catalogue, next_shipment_date, **member_kwargs):
    member = MemberFactory(**member_kwargs)
    subscription = subscription_save(
        member=member, items={catalogue["sunrise"]: 1, catalogue["menta"]: 1}, next_shipment_date=next_shipment_date
    )
    return member, subscription


@pytest.mark.parametrize(
    ("date", "next_date"),
    [
        (dt.date(2026, 1, 31), dt.date(2026, 2, 28)),
        (dt.date(2028, 1, 31), dt.date(2028, 2, 29)),
        (dt.date(2026, 12, 15), dt.date(2027, 1, 15)),
        (dt.date(2026, 3, 31), dt.date(2026, 4, 30)),
    ],
)
def test_the_next_shipment_date_is_a_month_later_clamped_to_the_month_end(date, next_date):
    assert shipment_date_next(date) == next_date


def test_every_active_subscription_due_today_or_missed_becomes_one_order(catalogue):
    _, due_today = subscribe(catalogue, TODAY)
    _, missed = subscribe(catalogue, TODAY - dt.timedelta(days=2))
    _, tomorrow = subscribe(catalogue, TODAY + dt.timedelta(days=1))
    _, paused = subscribe(catalogue, TODAY)
    Subscription.objects.filter(pk=paused.pk).update(status=Subscription.Status.PAUSED)
    run = subscriptions_run(now=NOW)
    assert (run.status, run.items) == (JobRun.Status.SUCCEEDED, 2)
    order = SubscriptionOrder.objects.get(subscription=due_today)
    assert (order.shipment_date, order.months_subscribed, order.total_incl_tax, order.pv) == (
        TODAY,
        1,
        36900,
        Decimal("180"),
    )
    assert SubscriptionOrder.objects.get(subscription=missed).shipment_date == TODAY - dt.timedelta(days=2)
    for subscription, next_date in (
        (due_today, dt.date(2026, 4, 10)),
        (missed, dt.date(2026, 4, 8)),
        (tomorrow, TODAY + dt.timedelta(days=1)),
        (paused, TODAY),
    ):
        subscription.refresh_from_db()
        assert subscription.next_shipment_date == next_date
    assert not SubscriptionOrder.objects.filter(subscription__in=[tomorrow, paused]).exists()
    assert subscriptions_run(now=NOW + dt.timedelta(hours=3)).items == 0  # rerun: nothing new


def test_a_subscription_missed_for_two_months_gets_one_order_and_a_future_date(catalogue):
    _, subscription = subscribe(catalogue, dt.date(2026, 1, 5))
    subscriptions_run(now=NOW)
    assert SubscriptionOrder.objects.filter(subscription=subscription).count() == 1
    subscription.refresh_from_db()
    assert subscription.next_shipment_date == dt.date(2026, 4, 5)


def test_an_order_staff_already_created_for_the_date_is_not_duplicated(catalogue):
    _, subscription = subscribe(catalogue, TODAY)
    CreatedOrderFactory(subscription=subscription, shipment_date=TODAY)
    assert subscriptions_run(now=NOW).items == 0
    assert SubscriptionOrder.objects.filter(subscription=subscription).count() == 1
    subscription.refresh_from_db()
    assert subscription.next_shipment_date == dt.date(2026, 4, 10)


def test_bundled_exchanges_ride_with_the_order_and_can_no_longer_be_cancelled(
    catalogue, assert_ledger_ok, django_capture_on_commit_callbacks
):
    member, subscription = subscribe(catalogue, TODAY)
    points_adjust(
        member=member, points=500, reason="テスト用ポイント", staff_user=StaffUserFactory(), now=tokyo(2026, 3, 1)
    )

    day_before = NOW - dt.timedelta(hours=2)  # the box can change until the day before its shipment

    def place(reward, ship_now=False):
        return exchange_place(
            member=member, lines=[(reward, 1)], ship_now=ship_now, idempotency_key=uuid.uuid4(), now=day_before
        )

    box = place(catalogue["reward"])  # the guide's example: 42 points, fee 1,540, shipping 0
    assert place(catalogue["shaker"]).pk == box.pk  # one box: 102 points, two fee units
    ship_now = place(catalogue["shaker"], ship_now=True)
    cancelled = place(catalogue["reward"], ship_now=True)
    exchange_cancel(exchange=cancelled)
    subscriptions_run(now=NOW)
    order = SubscriptionOrder.objects.get(subscription=subscription)
    lines = list(order.lines.order_by("pk").values_list("product__sku", "is_reward", "unit_price_incl_tax", "unit_pv"))
    assert lines == [
        ("SUB-A", False, 24600, Decimal("120")),
        ("SUB-B", False, 12300, Decimal("60")),
        ("RW-42", True, 0, Decimal("0")),
        ("RW-60", True, 0, Decimal("0")),
    ]
    assert order.pv == Decimal("180")
    box.refresh_from_db()
    assert order.total_incl_tax == 36900 + box.charge_incl_tax == 36900 + 3080
    assert set(order.exchanges.values_list("pk", flat=True)) == {box.pk}
    ship_now.refresh_from_db()
    cancelled.refresh_from_db()
    assert ship_now.order_id is None and cancelled.order_id is None
    with pytest.raises(NotCancellable):
        exchange_cancel(exchange=box)

    with django_capture_on_commit_callbacks(execute=True):
        orders_mark_shipped(orders=[order], shipped_at=tokyo(2026, 3, 11, 15))
    for exchange in (box,):
        exchange.refresh_from_db()
        assert (exchange.status, exchange.shipped_at) == (Exchange.Status.SHIPPED, tokyo(2026, 3, 11, 15))
    ship_now.refresh_from_db()
    assert ship_now.status == Exchange.Status.PLACED
    assert Lot.objects.get(order=order).amount == 18  # floor(180 × 10 %), the grant ran on commit
    assert_ledger_ok()


def test_staff_mark_many_orders_shipped_at_once_and_again_changes_nothing(db, django_capture_on_commit_callbacks):
    orders = [CreatedOrderFactory(pv=Decimal("100")) for _ in range(3)]
    shipped_at = tokyo(2026, 3, 11, 15)
    with django_capture_on_commit_callbacks(execute=True):
        result = orders_mark_shipped(orders=orders, shipped_at=shipped_at)
    assert [o.status for o in result] == [SubscriptionOrder.Status.SHIPPED] * 3
    assert Lot.objects.filter(order__in=orders).count() == 3
    with django_capture_on_commit_callbacks(execute=True):
        orders_mark_shipped(orders=orders, shipped_at=shipped_at + dt.timedelta(days=1))
    assert {o.shipped_at for o in SubscriptionOrder.objects.filter(pk__in=[o.pk for o in orders])} == {shipped_at}
    assert Lot.objects.filter(order__in=orders).count() == 3


def test_the_command_runs_with_now(catalogue, capsys):
    from django.core.management import call_command

    subscribe(catalogue, TODAY)
    call_command("run_subscriptions", "--now", NOW.isoformat())
    assert "items 1" in capsys.readouterr().out
