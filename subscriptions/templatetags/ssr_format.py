"""Formatting of the figures ``quote_build`` and the ledger computed, and of dates as members read
them (the last valid day of points); nothing else is computed here."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

from django import template
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def yen(amount) -> str:
    """12345 → ``¥12,345`` (amounts are integers in yen)."""
    if amount is None or amount == "":
        return ""
    amount = int(amount)
    sign = "-" if amount < 0 else ""
    return f"{sign}¥{abs(amount):,}"


@register.filter
def points(amount) -> str:
    """42 → ``♥ 42``; the guide's sign for SSR points."""
    if amount is None or amount == "":
        return ""
    return f"♥ {int(amount):,}"


@register.filter
def abs_points(amount) -> str:
    """−42 → ``♥ 42``: points returned, shown without their sign."""
    if amount is None or amount == "":
        return ""
    return points(abs(int(amount)))


@register.filter
def signed(amount) -> str:
    """A ledger entry's points with their sign: ``+18``, ``−42``."""
    amount = int(amount)
    return f"+{amount:,}" if amount > 0 else f"−{abs(amount):,}"


@register.filter
def pv(value, places: int = 0) -> str:
    """PV with ``places`` decimals: ``180`` or ``180.00`` (the guide's bundle line)."""
    # Not ``value == ""``: a Decimal compared with a str asks the numbers ABCs (``isinstance``
    # against numbers.Rational, …) each time, most of this filter's cost on the bundle and the
    # confirmation (docs/performance.md).
    if value is None or (isinstance(value, str) and not value):
        return ""
    value = Decimal(value)
    return f"{value:,.{int(places)}f}"


# -- expiry: the last day points can be used (docs/rules.md §4) -------------------------------


def last_valid_day(expires_at: dt.datetime, zone: zoneinfo.ZoneInfo | str | None = None) -> dt.date:
    """The last day, in the market's time zone, on which points expiring at ``expires_at`` can
    still be used: a lot that expires at 2026-12-15 00:00 JST is valid until 2026-12-14.

    The one place the convention is computed: member pages, emails, admin and CSV all use it
    (through the ``valid_until`` / ``last_valid_day`` filters or this function).
    """
    if isinstance(zone, str):
        zone = zoneinfo.ZoneInfo(zone)
    zone = zone or timezone.get_default_timezone()
    return (expires_at.astimezone(zone) - dt.timedelta(microseconds=1)).date()


def valid_until_text(expires_at: dt.datetime, zone: zoneinfo.ZoneInfo | str | None = None) -> str:
    """「2026年12月14日まで有効」 (Japanese) / "Valid until Dec. 14, 2026" (English)."""
    return valid_until_day_text(last_valid_day(expires_at, zone))


def valid_until_day_text(day: dt.date) -> str:
    """``valid_until_text`` of a last valid day already computed."""
    return _("Valid until %(day)s") % {"day": day_text(day)}


def day_text(day: dt.date) -> str:
    """A day as members read it, ``DATE_FORMAT`` in the active language: 「2026年12月14日」 /
    "Dec. 14, 2026"."""
    return date_format(day, "DATE_FORMAT")


@register.filter(name="last_valid_day")
def last_valid_day_filter(expires_at, zone=None):
    """``{{ lot.expires_at|last_valid_day:market.time_zone|date:"DATE_FORMAT" }}``."""
    if not expires_at:
        return ""
    return last_valid_day(expires_at, zone or None)


@register.filter
def valid_until(expires_at, zone=None) -> str:
    """``{{ lot.expires_at|valid_until:market.time_zone }}`` → 「2026年12月14日まで有効」."""
    if not expires_at:
        return ""
    return valid_until_text(expires_at, zone or None)


@register.filter
def long_date(value) -> str:
    """A date as members read it: 「2026年12月10日」 / "Dec. 10, 2026"."""
    if not value:
        return ""
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value).date()
    return day_text(value)


# -- products ---------------------------------------------------------------------------------


@register.inclusion_tag("_product_thumb.html")
def product_thumb(product, tone=1, large=False) -> dict:
    """``{% product_thumb product tone large %}``: the product's thumbnail, or its first two
    characters on a coloured tile (``tone`` 1–4) when it has no picture; 120 px with ``large``."""
    return {"product": product, "tone": tone, "large": large}
