"""What placing an exchange writes: the exchange, its redemption, the lots it takes FIFO and the
allocations that explain them, its reward lines and its tax by rate."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from exchange.models import Exchange
from exchange.services import exchange_place
from ssr_points.models import Allocation, Lot, PointAccount
from ssr_points.services import points_adjust
from subscriptions.services import subscription_save
from tests.factories import MemberFactory, ProductFactory, StaffUserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def products(db):
    return {
        "sunrise": ProductFactory(sku="SUB-A", price_incl_tax=24600, tax_rate=8, pv=Decimal("120")),
        "reward_8": ProductFactory(sku="RW-42", reward=True, point_cost=42, tax_rate=8),
        "reward_10": ProductFactory(sku="RW-35", reward=True, point_cost=35, tax_rate=10),
    }


def member_with_three_lots(products, now):
    """Lots of 30, 50 and 200 points granted a month apart: a 2 × 42 + 35 = 119-point exchange
    empties the first two and takes 39 from the third."""
    member = MemberFactory()
    subscription_save(member=member, items={products["sunrise"]: 2})
    staff = StaffUserFactory()
    for months_ago, points in ((3, 30), (2, 50), (1, 200)):
        points_adjust(
            member=member,
            points=points,
            reason="テスト用ポイント",
            staff_user=staff,
            now=now - dt.timedelta(days=30 * months_ago),
        )
    return member


def written(member) -> dict:
    """What placing wrote for ``member``, without keys, numbers and instants."""
    exchange = Exchange.objects.get(member=member)
    entry = exchange.redemption
    lots = {lot.pk: index for index, lot in enumerate(Lot.objects.filter(member=member).order_by("expires_at"))}
    return {
        "exchange": {
            field: getattr(exchange, field)
            for field in (
                "status",
                "ship_now",
                "points",
                "fee_units",
                "exchange_fee_excl_tax",
                "handling_fee_excl_tax",
                "subtotal_excl_tax",
                "tax",
                "total",
                "pv",
                "charge_incl_tax",
                "order_id",
                "reversal_id",
                "placed_by_id",
                "shipped_at",
                "cancelled_at",
            )
        },
        "exchange_placed_at": exchange.created_at,
        "entry": (
            entry.kind,
            entry.points,
            entry.reason.replace(exchange.number, "N"),
            entry.reference == exchange.number,
            entry.lot_id,
            entry.order_id,
            entry.reverses_id,
            entry.staff_user_id,
            entry.created_at,
        ),
        "entry_key": entry.idempotency_key.startswith("exchange:"),
        "lots": [
            (lot.amount, lot.remaining, lot.expired) for lot in Lot.objects.filter(member=member).order_by("expires_at")
        ],
        "allocations": sorted(
            (lots[a.lot_id], a.points, a.member_id == member.pk) for a in Allocation.objects.filter(entry=entry)
        ),
        "lines": sorted(
            (line.product.sku, line.quantity, line.unit_points, line.tax_rate, line.member_id == member.pk)
            for line in exchange.lines.select_related("product")
        ),
        "tax_lines": sorted(
            (line.rate, line.amount_incl_tax, line.tax, line.member_id == member.pk)
            for line in exchange.tax_lines.all()
        ),
        "balance": PointAccount.objects.get(member=member).balance,
    }


def place(member, products, now):
    return exchange_place(
        member=member,
        lines=[(products["reward_8"], 2), (products["reward_10"], 1)],
        ship_now=False,
        idempotency_key=uuid.uuid4(),
        now=now,
    )


def test_placing_writes_the_exchange_its_lines_and_the_lots_it_takes(products, assert_ledger_ok):
    now = timezone.now()
    member = member_with_three_lots(products, now)
    place(member, products, now)
    rows = written(member)
    assert rows["exchange"] == {
        "status": Exchange.Status.PLACED,
        "ship_now": False,
        "points": 119,
        "fee_units": 2,
        "exchange_fee_excl_tax": 2800,
        "handling_fee_excl_tax": 0,
        "subtotal_excl_tax": rows["exchange"]["subtotal_excl_tax"],
        "tax": rows["exchange"]["tax"],
        "total": 49200 + 3080,
        "pv": Decimal("240"),
        "charge_incl_tax": 3080,
        "order_id": None,
        "reversal_id": None,
        "placed_by_id": None,
        "shipped_at": None,
        "cancelled_at": None,
    }
    # ¥49,200 at 8 %, ¥3,080 (the fee) at 10 %: each rate's tax rounded down once.
    assert rows["tax_lines"] == [(8, 49200, 3644, True), (10, 3080, 280, True)]
    assert rows["exchange"]["tax"] == 3644 + 280
    assert rows["exchange"]["subtotal_excl_tax"] == 49200 + 3080 - 3644 - 280
    assert rows["exchange_placed_at"] == now
    assert rows["entry"] == ("redemption", -119, "ポイント交換 N", True, None, None, None, None, now)
    assert rows["entry_key"]
    assert rows["lots"] == [(30, 0, 0), (50, 0, 0), (200, 161, 0)]
    assert rows["allocations"] == [(0, 30, True), (1, 50, True), (2, 39, True)]
    assert rows["lines"] == [("RW-35", 1, 35, 10, True), ("RW-42", 2, 42, 8, True)]
    assert rows["balance"] == 280 - 119
    assert_ledger_ok()
