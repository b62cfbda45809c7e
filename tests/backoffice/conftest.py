import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from ssr_points import services
from tests.factories import MemberFactory, OrderFactory, ProductFactory, StaffUserFactory, SubscriptionFactory


@pytest.fixture
def make_staff(roles):
    """A staff user in the given role (ssr_points/roles.py), or a superuser."""

    def make(role: str | None = None, *, superuser: bool = False):
        user = StaffUserFactory(is_superuser=superuser)
        if role:
            user.groups.add(roles[role])
        return user

    return make


@pytest.fixture
def grant_points():
    """Grant exactly ``points`` to ``member`` through a shipped subscription order (PV × 10%)."""

    def grant(member, points, *, at=None):
        at = at or timezone.now() - dt.timedelta(days=1)
        subscription = member.subscriptions.filter(status="active").first() or SubscriptionFactory(member=member)
        order = OrderFactory(subscription=subscription, pv=Decimal(points * 10), shipped_at=at, months_subscribed=1)
        return services.points_grant_for_order(order=order, now=at)

    return grant


@pytest.fixture
def bank_member(db, grant_points):
    member = MemberFactory(bank_transfer=True, name="振込 太郎", name_kana="フリコミ タロウ")
    grant_points(member, 300)
    return member


@pytest.fixture
def back_office_data(db, grant_points):
    """One of everything the admin lists: a member with lots, entries, subscription and orders."""
    member = MemberFactory(name="山田 花子", name_kana="ヤマダ ハナコ")
    grant_points(member, 120)
    ProductFactory()
    ProductFactory(reward=True)
    return member


@pytest.fixture
def guide_products(db):
    """The guide's worked example: 2 subscription items, ¥36,900 at 8 %, PV 180; a 42-point reward."""
    return {
        "sunrise": ProductFactory(sku="SUB-A", price_incl_tax=24600, tax_rate=8, pv=Decimal("120")),
        "menta": ProductFactory(sku="SUB-B", price_incl_tax=12300, tax_rate=8, pv=Decimal("60")),
        "reward": ProductFactory(sku="RW-42", name_ja="トライアルパック", reward=True, point_cost=42, tax_rate=8),
    }


@pytest.fixture
def guide_bank_member(guide_products):
    """A bank-transfer member with the guide's subscription and 500 points."""
    from ssr_points.services import points_adjust
    from subscriptions.services import subscription_save

    member = MemberFactory(bank_transfer=True, name="振込 次郎", name_kana="フリコミ ジロウ")
    subscription_save(member=member, items={guide_products["sunrise"]: 1, guide_products["menta"]: 1})
    points_adjust(member=member, points=500, reason="テスト用ポイント", staff_user=StaffUserFactory())
    return member
