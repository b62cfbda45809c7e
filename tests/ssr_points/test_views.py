"""The 定期購入特典 page (back office home): balance, lots, tenure, readable history."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from exchange.home import HISTORY_PAGE_SIZE
from exchange.services import exchange_cancel, exchange_place
from ssr_points.models import Entry, PointAccount
from ssr_points.services import points_adjust, points_grant_for_order
from subscriptions.services import subscription_save
from tests.factories import OrderFactory, StaffUserFactory


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode())).strip()


@pytest.fixture
def member_with_history(guide_member, guide_catalogue):
    subscription = guide_member.subscriptions.get()
    subscription.months_subscribed = 4
    subscription.save()
    order = OrderFactory(subscription=subscription, member=guide_member, number="SO-777", months_subscribed=4)
    points_grant_for_order(order=order)  # 180 PV × 15 % = 27
    exchange = exchange_place(
        member=guide_member, lines=[(guide_catalogue["reward"], 1)], ship_now=False, idempotency_key="1" * 32
    )
    exchange_cancel(exchange=exchange)
    return guide_member, exchange


def test_home_shows_points_lots_tenure_and_readable_history(client, member_with_history):
    member, exchange = member_with_history
    client.force_login(member.user)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    page = text(response)
    assert "利用可能ポイント ♥ 527" in page
    assert "継続月数 4か月" in page and "現在の付与率 15%" in page and "次回注文の付与率 15%" in page
    by_day = {}  # the lots by their last valid day: one row each, with their sum
    for lot in member.lots.filter(remaining__gt=0):
        last_day = (timezone.localtime(lot.expires_at) - dt.timedelta(days=1)).date()
        by_day[last_day] = by_day.get(last_day, 0) + lot.remaining
    for last_day, remaining in by_day.items():
        assert f"{last_day.year}年{last_day.month}月{last_day.day}日まで有効 ♥ {remaining:,}" in page
    assert "定期購入 注文 SO-777 の出荷による付与" in page
    assert f"ポイント交換 {exchange.number} のキャンセルによる返還" in page
    assert f"ポイント交換 {exchange.number}" in page
    assert "カスタマーエクスペリエンスによる調整：テスト用ポイント" in page


def test_history_reasons_follow_the_members_language(client, member_with_history, settings):
    member, exchange = member_with_history
    client.force_login(member.user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = text(client.get(reverse("home")))
    assert "Subscription order SO-777 shipped" in page
    assert f"Point exchange {exchange.number} cancelled: points returned" in page
    assert "Available points ♥ 527" in page


def test_expiry_and_clawback_entries_read_well(member):
    staff = StaffUserFactory()
    lot_entry = points_adjust(member=member, points=10, reason="お詫び", staff_user=staff)
    expiry = Entry(member=member, kind=Entry.Kind.EXPIRY, points=-10, reason="失効", lot=lot_entry.lot)
    clawback = Entry(member=member, kind=Entry.Kind.CLAWBACK, points=-10, reason="x", reference="SO-1")
    with translation.override("ja"):
        assert "に付与されたポイント" in expiry.member_reason()
        assert clawback.member_reason() == "注文 SO-1 の返品によるポイント取消"
    with translation.override("en"):
        assert clawback.member_reason() == "Subscription order SO-1 returned: points taken back"


def history_queries(client, member):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("home")).status_code == 200
    return len(queries)


def test_home_runs_the_same_number_of_queries_whatever_the_history(client, guide_member):
    client.force_login(guide_member.user)
    staff = StaffUserFactory()
    for n in range(10):
        points_adjust(member=guide_member, points=1, reason=f"調整 {n}", staff_user=staff)
    short = history_queries(client, guide_member)
    for n in range(60):
        points_adjust(member=guide_member, points=1, reason=f"調整 {n}", staff_user=staff)
    assert history_queries(client, guide_member) == short


@pytest.mark.parametrize("page", ["2", "999", "abc", "-1"])
def test_history_pages_never_fail(client, guide_member, page):
    staff = StaffUserFactory()
    for n in range(25):
        points_adjust(member=guide_member, points=1, reason=f"調整 {n}", staff_user=staff)
    client.force_login(guide_member.user)
    response = client.get(reverse("home"), {"page": page})
    assert response.status_code == 200 and "ページ" in text(response)


def test_a_member_owing_points_is_told_so(client, member, guide_catalogue):
    subscription_save(member=member, items={guide_catalogue["sunrise"]: 1})
    PointAccount.objects.filter(member=member).update(debt=5, balance=-5)
    client.force_login(member.user)
    page = text(client.get(reverse("home")))
    assert "♥ -5" in page and "未精算ポイント" in page


def test_a_new_member_sees_how_to_start(client, member):
    client.force_login(member.user)
    page = text(client.get(reverse("home")))
    assert "利用できるポイントはまだありません" in page and "定期購入を追加後、保存" in page


def test_the_history_pages_list_every_entry_once_newest_first_with_its_lot(client, guide_member):
    """The first page and the others: together they are the
    member's whole history in order, and an expiry entry's reason names its lot's grant date."""
    staff = StaffUserFactory()
    for i in range(HISTORY_PAGE_SIZE + 5):
        points_adjust(member=guide_member, points=i + 1, reason=f"調整 {i}", staff_user=staff)
    lot = guide_member.lots.order_by("pk").first()
    Entry.objects.create(
        member=guide_member, kind="expiry", points=-1, reason="有効期限切れ", lot=lot, created_at=timezone.now()
    )
    lot.remaining -= 1
    lot.expired = 1
    lot.save()
    PointAccount.objects.filter(member=guide_member).update(
        balance=PointAccount.objects.get(member=guide_member).balance - 1
    )
    client.force_login(guide_member.user)
    expected = list(
        Entry.objects.filter(member=guide_member).order_by("-created_at", "-id").values_list("pk", flat=True)
    )
    listed = []
    for number in (1, 2):
        page = client.get(reverse("home"), {"page": number}).context["page"]
        assert page.paginator.count == len(expected)
        listed += [entry.pk for entry in page.object_list]
    assert listed == expected
    first = client.get(reverse("home")).context["page"].object_list[0]
    assert first.kind == "expiry" and first.lot == lot
    granted = timezone.localtime(lot.granted_at).date()
    assert f"{granted:%Y/%m/%d}" in first.member_reason() or str(granted.day) in first.member_reason()
