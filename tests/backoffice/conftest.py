import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from backoffice.models import ContactNote
from exchange.services import exchange_place, exchange_request_create
from ssr_points import services
from ssr_points.services import points_adjust, points_grant_for_order
from subscriptions.services import member_create, subscription_save
from tests.factories import (
    MarketFactory,
    MemberFactory,
    OrderFactory,
    ProductFactory,
    StaffUserFactory,
    SubscriptionFactory,
)


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


# -- a CX call in the browser at 1440×900 (test_member_page_browser.py, test_cx_call_browser.py) ----

DESKTOP = {"width": 1440, "height": 900}


@pytest.fixture
def desktop(browser):
    context = browser.new_context(viewport=DESKTOP, locale="ja-JP", timezone_id="Asia/Tokyo")
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def caller(transactional_db, make_staff):
    """Member 100001, 山田 花子, with a year of history; her last decrease is an exchange of a
    shaker placed for her by an agent last week."""
    market = MarketFactory(name="日本")
    sunrise = ProductFactory(
        sku="SUB-SUNRISE", name_ja="サンライズ（30包）", price_incl_tax=24600, pv=Decimal("120"), market=market
    )
    menta = ProductFactory(
        sku="SUB-MENTA", name_ja="メンタバイオティクス", price_incl_tax=12300, pv=Decimal("60"), market=market
    )
    shaker = ProductFactory(
        sku="RW-SHAKER", reward=True, point_cost=60, name_ja="オリジナルシェイカー", tax_rate=10, market=market
    )
    member = member_create(
        market=market,
        member_number="100001",
        name="山田 花子",
        name_kana="ヤマダ ハナコ",
        email="hanako@example.com",
        phone="090-1234-5678",
        password="pass-word-123",
    )
    subscription = subscription_save(member=member, items={sunrise: 1, menta: 1})
    now = timezone.now()
    for months_ago in (11, 8, 5, 2):
        shipped_at = now - dt.timedelta(days=30 * months_ago + 5)
        order = OrderFactory(
            subscription=subscription,
            pv=Decimal("1800"),
            total_incl_tax=36900,
            shipment_date=timezone.localdate(shipped_at),
            created_at=shipped_at - dt.timedelta(hours=20),
            shipped_at=shipped_at,
            months_subscribed=1,
        )
        points_grant_for_order(order=order, now=shipped_at)
    other_agent = make_staff("cx_agent")
    points_adjust(member=member, points=30, reason="配送遅延のお詫び", staff_user=other_agent)
    exchange_place(
        member=member, lines=[(shaker, 1)], ship_now=False, idempotency_key=uuid.uuid4(), staff_user=other_agent
    )
    exchange_request_create(member=member, message="ポイントが減っている理由を知りたい", contact_phone="090-1234-5678")
    ContactNote.objects.create(member=member, staff_user=other_agent, text="交換の内容を確認済み。")
    return member
