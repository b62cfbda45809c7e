"""A member reads the last valid day of their points (「…まで有効」), not lots: on home and on the
confirmation, lots that end on the same day are one row with their sum (docs/rules.md, display)."""

import datetime as dt
import re
import uuid
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import translation

from exchange.services import exchange_place
from ssr_points.display import lot_rows
from ssr_points.services import points_adjust
from subscriptions.templatetags.ssr_format import last_valid_day
from tests.factories import StaffUserFactory

TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")


def section(response, title_id: str) -> str:
    html = response.content.decode()
    part = html.split(f'aria-labelledby="{title_id}"', 1)[1].split("</section>", 1)[0]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", part)).strip()


def day_ja(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日まで有効"


def test_lots_ending_on_the_same_day_are_one_row_and_the_next_instant_is_the_next_day():
    midnight = dt.datetime(2027, 12, 8, tzinfo=TOKYO)  # the first instant they cannot be used: valid until the 7th
    lots = [
        (midnight - dt.timedelta(hours=9), 30),
        (midnight, 20),
        (midnight + dt.timedelta(microseconds=1), 5),  # usable for an instant of the 8th: valid until the 8th
        (midnight + dt.timedelta(days=1), 7),
    ]
    with translation.override("ja"):
        rows = [(row.valid_until, row.points) for row in lot_rows(lots, zone=TOKYO)]
    assert rows == [("2027年12月7日まで有効", "♥ 50"), ("2027年12月8日まで有効", "♥ 12")]
    with translation.override("en"):
        assert [row.valid_until for row in lot_rows(lots[:2], zone="Asia/Tokyo")] == ["Valid until Dec. 7, 2027"]


def two_lots_of_one_day(member, first: int, second: int) -> dt.date:
    """Two staff additions at 10:00 and 15:00 of one Tokyo day, a year ago less a month: they
    end on the same day, before the member's other points."""
    staff = StaffUserFactory()
    morning = dt.datetime(2026, 1, 10, 10, tzinfo=TOKYO)
    lots = [
        points_adjust(member=member, points=points, reason="テスト", staff_user=staff, now=at).lot
        for points, at in ((first, morning), (second, morning + dt.timedelta(hours=5)))
    ]
    assert lots[0].pk != lots[1].pk
    days = {last_valid_day(lot.expires_at, TOKYO) for lot in lots}
    assert len(days) == 1
    return days.pop()


@pytest.mark.django_db
def test_home_lists_the_points_of_one_last_valid_day_once(client, guide_member):
    day = two_lots_of_one_day(guide_member, 30, 40)
    client.force_login(guide_member.user)
    lots = section(client.get(reverse("home")), "lots-title")
    assert lots.count(day_ja(day)) == 1
    assert f"{day_ja(day)} ♥ 70" in lots


@pytest.mark.django_db
def test_the_confirmation_lists_the_points_used_of_one_last_valid_day_once(client, guide_member, guide_catalogue):
    day = two_lots_of_one_day(guide_member, 30, 20)  # the reward's 42: 30 of the first, 12 of the second
    client.force_login(guide_member.user)
    reward = guide_catalogue["reward"]
    saved = client.post(reverse("exchange:quantity", args=[reward.pk]), {"quantity": 1, "action": "save"})
    assert saved.status_code == 302
    used = section(client.get(reverse("exchange:confirm")), "lots-title")
    assert used.count("まで有効") == 1
    assert f"{day_ja(day)} ♥ 42" in used


@pytest.mark.django_db
def test_the_cancel_page_lists_the_points_returned_to_one_last_valid_day_once(client, guide_member, guide_catalogue):
    day = two_lots_of_one_day(guide_member, 30, 20)
    exchange = exchange_place(
        member=guide_member, lines=[(guide_catalogue["reward"], 1)], ship_now=False, idempotency_key=uuid.uuid4()
    )
    client.force_login(guide_member.user)
    returns = section(client.get(reverse("exchange:cancel", args=[exchange.number])), "comes-back-title")
    assert returns.count("まで有効") == 1
    assert f"{day_ja(day)} ♥ 42" in returns
