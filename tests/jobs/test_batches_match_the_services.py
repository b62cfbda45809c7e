"""The nightly set-based statements (ssr_points/batches.py) write what the per-member services
write: the same lots, entries and balances, to the microsecond, on the same data.

Each case makes two identical members (same market, orders, lots): one goes through the batch,
its twin through the services (``points_grant_for_order``, ``points_expire_member``), and every
row each wrote is compared, the order numbers and ids read as the twin's. The grant instants are
chosen where the rules bite: just after midnight in the market's zone, a leap day, a month end
that the 12 months clamp, a daylight-saving change.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from ssr_points.batches import points_expire_due, points_grant_orders_batch
from ssr_points.models import Entry, Lot, PointAccount
from ssr_points.services import points_expire_member, points_grant_for_order
from tests.factories import MarketFactory, MemberFactory, OrderFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

INSTANTS = [
    dt.datetime(2027, 1, 30, 15, 30, tzinfo=dt.UTC),  # 2027-01-31 00:30 in Tokyo: a month end
    dt.datetime(2028, 2, 28, 15, 0, tzinfo=dt.UTC),  # 2028-02-29 00:00 in Tokyo: a leap day
    dt.datetime(2027, 3, 14, 9, 30, tzinfo=dt.UTC),  # 02:30 in Los Angeles, the night the clocks go forward
    dt.datetime(2026, 12, 31, 14, 59, 59, 999999, tzinfo=dt.UTC),  # the last microsecond of 2026 in Tokyo
]
# (months subscribed, PV): every step of the default schedule, a fraction, nothing earned.
ORDERS = [(1, Decimal("180")), (3, Decimal("33.33")), (4, Decimal("180")), (7, Decimal("95.5")), (13, Decimal("60"))]
ORDERS_NOTHING = [(1, Decimal("0"))]


@pytest.fixture(params=["JP", "US"])
def market(request):
    if request.param == "JP":
        return MarketFactory(code="JP", time_zone="Asia/Tokyo")
    return MarketFactory(code="US", name="United States", time_zone="America/Los_Angeles")


def twins(market, orders):
    """Two members with the same subscription orders, shipped; each member's orders in the same order."""
    pair = []
    for _ in range(2):
        member = MemberFactory(market=market)
        subscription = SubscriptionFactory(member=member)
        made = [
            OrderFactory(subscription=subscription, months_subscribed=months, pv=pv, shipped_at=INSTANTS[0])
            for months, pv in orders
        ]
        pair.append((member, made))
    return pair


def written(member, orders) -> dict:
    """Every ledger row of ``member``, its orders read as their position among its orders."""
    position = {order.pk: index for index, order in enumerate(orders)}
    number = {order.number: f"order {index}" for index, order in enumerate(orders)}
    lots = list(Lot.objects.filter(member=member).order_by("order_id", "expires_at", "pk"))
    lot_index = {lot.pk: index for index, lot in enumerate(lots)}
    entries = Entry.objects.filter(member=member)
    account = PointAccount.objects.get(member=member)

    def reason(text):
        for real, read in number.items():
            text = text.replace(real, read)
        return text

    return {
        "lots": [
            (position.get(lot.order_id), lot.amount, lot.remaining, lot.expired, lot.granted_at, lot.expires_at)
            for lot in lots
        ],
        "entries": sorted(
            (
                entry.kind,
                entry.points,
                entry.created_at,
                reason(entry.reason),
                number.get(entry.reference, entry.reference),
                (entry.idempotency_key or "").replace(str(entry.order_id), f"order {position.get(entry.order_id)}"),
                lot_index.get(entry.lot_id),
                position.get(entry.order_id),
            )
            for entry in entries
        ),
        "account": (account.balance, account.debt),
    }


@pytest.mark.postgres
@pytest.mark.parametrize("now", INSTANTS, ids=["month-end", "leap-day", "dst", "last-microsecond"])
def test_the_set_based_grant_writes_what_the_per_order_service_writes(market, now):
    started = timezone.now()
    (batch, batch_orders), (service, service_orders) = twins(market, ORDERS + ORDERS_NOTHING)
    lots, points, members, _ = points_grant_orders_batch(order_ids=[order.pk for order in batch_orders], now=now)
    for order in service_orders:
        points_grant_for_order(order=order, now=now)

    assert written(batch, batch_orders) == written(service, service_orders)
    assert (lots, members) == (len(ORDERS), 1)
    assert points == sum(lot.amount for lot in Lot.objects.filter(member=service))
    for member in (batch, service):
        assert PointAccount.objects.get(member=member).updated_at >= started  # when the row was written
    # Run again: nothing more, on either path.
    assert points_grant_orders_batch(order_ids=[order.pk for order in batch_orders], now=now)[:3] == (0, 0, 0)
    for order in service_orders:
        points_grant_for_order(order=order, now=now)
    assert written(batch, batch_orders) == written(service, service_orders)


@pytest.mark.parametrize("now", INSTANTS, ids=["month-end", "leap-day", "dst", "last-microsecond"])
def test_the_set_based_expiry_writes_what_the_per_member_service_writes(market, now):
    (batch, batch_orders), (service, service_orders) = twins(market, ORDERS)
    for order in batch_orders + service_orders:
        points_grant_for_order(order=order, now=now)
    expiry = Lot.objects.filter(member=service).order_by("expires_at").first().expires_at
    later = now + dt.timedelta(days=400)

    points_expire_member(member_id=service.pk, at=expiry, now=later)  # the service first: the batch takes all members
    result = points_expire_due(at=expiry, now=later)

    assert written(batch, batch_orders) == written(service, service_orders)
    assert result.lots == len(ORDERS) and result.members == 1
    assert PointAccount.objects.get(member=batch).balance == 0
    assert points_expire_due(at=expiry, now=later).lots == 0  # nothing is due twice
    assert points_expire_member(member_id=service.pk, at=expiry, now=later) == []
