from decimal import Decimal

import pytest

from ssr_points.services import points_adjust
from subscriptions.services import subscription_save
from tests.factories import MemberFactory, ProductFactory, StaffUserFactory


@pytest.fixture
def guide_catalogue(db):
    """The guide's worked example: 2 subscription items, ¥36,900 at 8 %, PV 180; a 42-point reward."""
    return {
        "sunrise": ProductFactory(sku="SUB-A", price_incl_tax=24600, tax_rate=8, pv=Decimal("120")),
        "menta": ProductFactory(sku="SUB-B", price_incl_tax=12300, tax_rate=8, pv=Decimal("60")),
        "reward": ProductFactory(sku="RW-42", reward=True, point_cost=42, tax_rate=8),
    }


@pytest.fixture
def guide_member(guide_catalogue):
    member = MemberFactory()
    subscription_save(member=member, items={guide_catalogue["sunrise"]: 1, guide_catalogue["menta"]: 1})
    points_adjust(member=member, points=500, reason="テスト用ポイント", staff_user=StaffUserFactory())
    return member
