"""The grant sweep: every pending grant, and with ``days`` every order shipped in the window
without a grant, gets exactly the grant the per-order service would give (set-based on
PostgreSQL), once. The outbox itself: tests/fulfilment/test_grant_outbox.py."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from jobs.models import JobRun
from jobs.services import grants_sweep
from ssr_points.batches import points_grant_orders_batch
from ssr_points.models import Entry, Lot, PointAccount
from ssr_points.services import lot_expires_at, points_adjust, points_claw_back_order, points_grant_for_order
from subscriptions.models import SubscriptionOrder
from tests.factories import MemberFactory, OrderFactory, StaffUserFactory, SubscriptionFactory
from tests.jobs.conftest import TOKYO, tokyo

NOW = tokyo(2029, 3, 5, 3, 30)


def shipped(member=None, *, at, pv="180", months=1, **kwargs):
    member = member or MemberFactory()
    subscription = member.subscriptions.filter(status="active").first() or SubscriptionFactory(member=member)
    return OrderFactory(subscription=subscription, shipped_at=at, pv=Decimal(pv), months_subscribed=months, **kwargs)


@pytest.mark.postgres  # the set-based batch is PostgreSQL's path
@pytest.mark.parametrize(
    ("granted_at", "expires_at"),
    [
        (tokyo(2029, 2, 28, 23, 59), tokyo(2030, 2, 28)),
        (dt.datetime(2029, 2, 28, 15, 0, tzinfo=dt.UTC), tokyo(2030, 3, 1)),  # 1 March in Tokyo
        (dt.datetime(2029, 2, 28, 14, 59, tzinfo=dt.UTC), tokyo(2030, 2, 28)),  # still 28 Feb in Tokyo
        (tokyo(2029, 3, 1, 0, 0), tokyo(2030, 3, 1)),
        (tokyo(2028, 2, 29, 12), tokyo(2029, 2, 28)),  # leap day
    ],
)
def test_the_set_based_grant_dates_a_lot_like_the_per_order_service_at_every_date_boundary(
    db, granted_at, expires_at, assert_ledger_ok
):
    """The lot is granted when the batch writes it, whenever the order shipped (docs/ledger.md)."""
    batch_order, single_order = shipped(at=tokyo(2020, 1, 1)), shipped(at=tokyo(2020, 1, 1))
    assert points_grant_orders_batch(order_ids=[batch_order.pk], now=granted_at)[:2] == (1, 18)
    batch_lot = Lot.objects.get(order=batch_order)
    single_lot = points_grant_for_order(order=single_order, now=granted_at)
    for lot in (batch_lot, single_lot):
        assert (lot.granted_at, lot.expires_at, lot.remaining, lot.expired) == (granted_at, expires_at, 18, 0)
        entry = Entry.objects.get(lot=lot, kind=Entry.Kind.GRANT)
        assert (entry.created_at, entry.points, entry.reference) == (granted_at, 18, lot.order.number)
        assert entry.idempotency_key == f"grant:order:{lot.order_id}"
        assert entry.reason == f"定期購入 注文 {lot.order.number} の出荷による付与"
    assert points_grant_for_order(order=batch_order).pk == batch_lot.pk  # the per-order path sees it as granted
    assert_ledger_ok(at=granted_at)


def test_the_sweep_grants_each_rate_once_dated_when_it_runs(db, assert_ledger_ok):
    orders = [shipped(at=NOW - dt.timedelta(days=d), months=m) for d, m in ((1, 1), (2, 4), (3, 7), (4, 13))]
    old = shipped(at=NOW - dt.timedelta(days=60), pv="75")  # beyond the window below
    before = timezone.now()
    run = grants_sweep(now=NOW, days=30)
    assert (run.status, run.items, run.lots) == (JobRun.Status.SUCCEEDED, 4, 4)
    assert run.points == 18 + 27 + 36 + 54  # floor(180 × 10/15/20/30 %)
    for order in orders:
        lot = Lot.objects.get(order=order)
        assert before <= lot.granted_at <= timezone.now()  # the order's ship date moves nothing
        assert lot.expires_at == lot_expires_at(granted_at=lot.granted_at, zone=TOKYO)
        assert PointAccount.objects.get(member=order.member).balance == lot.amount
    assert not Lot.objects.filter(order=old).exists()
    assert_ledger_ok()


def test_a_second_sweep_and_the_late_task_grant_nothing_twice(db, assert_ledger_ok):
    orders = [shipped(at=NOW - dt.timedelta(days=i)) for i in range(5)]
    first = grants_sweep(now=NOW, days=35, batch_size=2)
    assert (first.lots, first.batches) == (5, 3)
    assert grants_sweep(now=NOW, days=35).lots == 0
    for order in orders:
        points_grant_for_order(order=order)  # the task's message arrives late
    assert Lot.objects.count() == 5 and Entry.objects.filter(kind=Entry.Kind.GRANT).count() == 5
    assert_ledger_ok()


def test_orders_outside_the_window_earning_nothing_or_not_shipped_are_left_alone(db, assert_ledger_ok):
    old = shipped(at=NOW - dt.timedelta(days=40))
    zero = shipped(at=NOW - dt.timedelta(days=1), pv="0")
    tiny = shipped(at=NOW - dt.timedelta(days=1), pv="9")  # floor(9 × 10 %) = 0
    later = shipped(at=NOW + dt.timedelta(minutes=1))
    returned = shipped(at=NOW - dt.timedelta(days=1))
    SubscriptionOrder.objects.filter(pk=returned.pk).update(status=SubscriptionOrder.Status.RETURNED, returned_at=NOW)
    run = grants_sweep(now=NOW, days=35)
    assert (run.items, run.lots, run.points) == (2, 0, 0)  # zero and tiny looked at; neither earns
    assert not Lot.objects.filter(order__in=[old, zero, tiny, later, returned]).exists()
    assert_ledger_ok()


def test_a_member_in_debt_has_the_swept_grant_repay_the_debt_first(db, assert_ledger_ok):
    member = MemberFactory()
    staff = StaffUserFactory()
    returned = shipped(member, at=NOW - dt.timedelta(days=60), pv="300")
    points_grant_for_order(order=returned, now=NOW - dt.timedelta(days=60))
    points_adjust(member=member, points=-30, reason="使用", staff_user=staff, now=NOW - dt.timedelta(days=50))
    SubscriptionOrder.objects.filter(pk=returned.pk).update(status=SubscriptionOrder.Status.RETURNED)
    points_claw_back_order(order=returned, now=NOW - dt.timedelta(days=40))
    assert PointAccount.objects.get(member=member).debt == 30
    order = shipped(member, at=NOW - dt.timedelta(days=1), pv="500")  # earns 50
    run = grants_sweep(now=NOW, days=35)
    assert (run.lots, run.points) == (1, 50)
    account = PointAccount.objects.get(member=member)
    assert (account.debt, account.balance) == (0, 20)
    assert Lot.objects.get(order=order).remaining == 20
    assert_ledger_ok()


def test_the_command_sweeps_with_now(db, capsys):
    from django.core.management import call_command

    shipped(at=NOW - dt.timedelta(days=1))
    call_command("sweep_grants", "--now", NOW.isoformat(), "--days", "3")
    assert "lots 1, points 18" in capsys.readouterr().out


def test_the_bulk_batch_skips_an_order_the_task_granted_meanwhile(db, assert_ledger_ok):
    import pytest
    from django.db import connection

    from ssr_points.batches import points_grant_orders_batch

    if connection.vendor != "postgresql":
        pytest.skip("the set-based batch is PostgreSQL's path")
    raced, fresh = shipped(at=NOW - dt.timedelta(days=1)), shipped(at=NOW - dt.timedelta(days=1))
    points_grant_for_order(order=raced)  # the task won the race after the sweep picked its page
    lots, points, members, _ = points_grant_orders_batch(order_ids=[raced.pk, fresh.pk])
    assert (lots, points, members) == (1, 18, 1)
    assert Lot.objects.filter(order=raced).count() == 1
    assert Entry.objects.filter(order=raced, kind=Entry.Kind.GRANT).count() == 1
    assert_ledger_ok()
