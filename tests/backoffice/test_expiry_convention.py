"""One expiry convention in the back office (issue 11 item 6, docs/rules.md §4):
lists, the member page, the points report and its CSV show the last day the points can be used
(a lot expiring at 2026-12-15 00:00 JST is 「2026年12月14日まで有効」); only the admin's detail
pages add the exact instant, labelled as the instant of expiry."""

import csv
import datetime as dt
import io
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone

from jobs.models import ExpiryReminder
from ssr_points.services import points_redeem
from tests.factories import MemberFactory

TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")
INSTANT_LABEL = "失効日時（この時刻から使えません）"


@pytest.fixture
def december_lot(db, grant_points):
    """Granted on 2025-12-15 (JST): expires at 2026-12-15 00:00 JST, last valid day 2026-12-14."""
    member = MemberFactory()
    lot = grant_points(member, 100, at=dt.datetime(2025, 12, 15, 10, 0, tzinfo=TOKYO))
    assert lot.expires_at == dt.datetime(2026, 12, 15, tzinfo=TOKYO)
    return lot


def test_the_lot_list_shows_the_last_valid_day_and_the_detail_adds_the_labelled_instant(
    client, make_staff, december_lot
):
    client.force_login(make_staff("cx_agent"))
    listed = client.get(reverse("admin:ssr_points_lot_changelist"), {"member__id__exact": december_lot.member_id})
    body = listed.content.decode()
    assert listed.status_code == 200
    assert "2026年12月14日まで有効" in body
    assert "2026年12月15日" not in body and "2026-12-15" not in body
    assert INSTANT_LABEL not in body

    detail = client.get(reverse("admin:ssr_points_lot_change", args=[december_lot.pk])).content.decode()
    assert "2026年12月14日まで有効" in detail
    assert INSTANT_LABEL in detail and "2026-12-15 00:00 JST" in detail


def test_the_reminder_list_shows_the_last_valid_day_and_the_detail_adds_the_labelled_instant(
    client, make_staff, december_lot
):
    reminder = ExpiryReminder.objects.create(
        member=december_lot.member,
        expires_at=december_lot.expires_at,
        points=100,
        claimed_at=dt.datetime(2026, 11, 15, 9, 0, tzinfo=TOKYO),
    )
    client.force_login(make_staff("cx_agent"))
    body = client.get(reverse("admin:jobs_expiryreminder_changelist")).content.decode()
    assert "2026年12月14日まで有効" in body
    assert "2026年12月15日" not in body and "2026-12-15" not in body and "12月15日" not in body

    detail = client.get(reverse("admin:jobs_expiryreminder_change", args=[reminder.pk])).content.decode()
    assert "2026年12月14日まで有効" in detail
    assert INSTANT_LABEL in detail and "2026-12-15 00:00 JST" in detail


def test_the_member_page_the_allocations_and_the_report_csv_show_the_last_valid_day(client, make_staff, grant_points):
    """A lot still spendable today (so the member page and the report list it): it expires at
    00:00 JST on the 15th of a month one to two months ahead."""
    today = timezone.localdate(timezone.now(), TOKYO)
    expiry_day = (today + dt.timedelta(days=40)).replace(day=15)
    granted_on = expiry_day.replace(year=expiry_day.year - 1)
    member = MemberFactory()
    lot = grant_points(member, 100, at=dt.datetime.combine(granted_on, dt.time(10), tzinfo=TOKYO))
    points_redeem(member=member, points=10, reference="EX-1", reason="交換")
    assert lot.expires_at == dt.datetime.combine(expiry_day, dt.time(0), tzinfo=TOKYO)
    last_day = expiry_day - dt.timedelta(days=1)
    until = f"{last_day.year}年{last_day.month}月{last_day.day}日まで有効"
    raw = f"{expiry_day.year}年{expiry_day.month}月{expiry_day.day}日"

    client.force_login(make_staff("cx_supervisor"))
    page = client.get(reverse("admin:subscriptions_member_change", args=[member.pk])).content.decode()
    next_expiry = page.split('id="cx-next-expiry"')[1].split("</dd>")[0]
    assert until in next_expiry and raw not in next_expiry
    assert f'title="{INSTANT_LABEL}：{expiry_day:%Y-%m-%d} 00:00 JST"' in next_expiry  # the detail, labelled

    allocations = client.get(reverse("admin:ssr_points_allocation_changelist")).content.decode()
    assert until in allocations and raw not in allocations  # the lot's name in the list

    client.force_login(make_staff("finance"))
    report = client.get(reverse("admin:points_report"), {"market": member.market.code}).content.decode()
    assert until in report.split('id="expiring"')[1]
    response = client.get(reverse("admin:points_report_csv", args=["expiring"]), {"market": member.market.code})
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["月", "失効予定ポイント", "金額", "最も早い最終有効日"]
    assert [f"{last_day:%Y-%m}", "90", str(90 * member.market.point_value), last_day.isoformat()] in rows
    assert expiry_day.isoformat() not in response.content.decode()
