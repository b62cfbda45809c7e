"""Issue 11 item 6: one convention for expiry everywhere — the last valid day, in the market's
time zone (「2026年12月14日まで有効」 for 2026-12-15 00:00 JST)."""

import datetime as dt
import zoneinfo

from django.template import Context, Template
from django.utils import translation

from subscriptions.templatetags.ssr_format import day_text, last_valid_day, valid_until_text

TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")


def test_the_last_valid_day_is_the_day_before_the_expiry_instant_in_the_market_time_zone():
    expires_at = dt.datetime(2026, 12, 15, 0, 0, tzinfo=TOKYO)
    assert last_valid_day(expires_at, "Asia/Tokyo") == dt.date(2026, 12, 14)
    # The same instant seen from UTC is 14 Dec 15:00; the market's zone decides.
    assert last_valid_day(expires_at.astimezone(dt.UTC), TOKYO) == dt.date(2026, 12, 14)
    # An instant in the middle of a day leaves that day valid.
    assert last_valid_day(dt.datetime(2026, 12, 15, 9, 30, tzinfo=TOKYO), TOKYO) == dt.date(2026, 12, 15)


def test_members_read_it_in_their_language():
    expires_at = dt.datetime(2026, 12, 15, 0, 0, tzinfo=TOKYO)
    with translation.override("ja"):
        assert valid_until_text(expires_at, "Asia/Tokyo") == "2026年12月14日まで有効"
        rendered = Template("{% load ssr_format %}{{ at|valid_until:zone }}").render(
            Context({"at": expires_at, "zone": "Asia/Tokyo"})
        )
        assert rendered == "2026年12月14日まで有効"
    with translation.override("en"):
        assert valid_until_text(expires_at, "Asia/Tokyo") == "Valid until Dec. 14, 2026"


def test_month_ends_and_leap_days():
    assert last_valid_day(dt.datetime(2029, 2, 28, tzinfo=TOKYO), TOKYO) == dt.date(2029, 2, 27)
    assert last_valid_day(dt.datetime(2027, 1, 1, tzinfo=TOKYO), TOKYO) == dt.date(2026, 12, 31)


def test_a_day_formatted_once_per_process_is_still_read_in_each_language():
    """``day_text`` and ``valid_until_text`` keep each text per language and day: the same
    day asked in Japanese, English and Japanese again reads right each time."""
    day = dt.date(2027, 3, 9)
    expires_at = dt.datetime(2027, 3, 10, 0, 0, tzinfo=TOKYO)
    for language, text, valid in [
        ("ja", "2027年3月9日", "2027年3月9日まで有効"),
        ("en", "March 9, 2027", "Valid until March 9, 2027"),
        ("ja", "2027年3月9日", "2027年3月9日まで有効"),
    ]:
        with translation.override(language):
            assert day_text(day) == text
            assert Template("{% load ssr_format %}{{ day|long_date }}").render(Context({"day": day})) == text
            assert valid_until_text(expires_at, TOKYO) == valid
