import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest

from ssr_points import services
from tests.factories import OrderFactory, SubscriptionFactory

TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")


def tokyo(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TOKYO)


def grant_points(member, points, *, at):
    """Grant exactly ``points`` via a shipped order (PV × 10% in month 1), granted at ``at``."""
    subscription = member.subscriptions.filter(status="active").first() or SubscriptionFactory(member=member)
    order = OrderFactory(subscription=subscription, pv=Decimal(points * 10), shipped_at=at, months_subscribed=1)
    lot = services.points_grant_for_order(order=order, now=at)
    assert lot.amount == points
    return lot


@pytest.fixture
def grant():
    return grant_points
