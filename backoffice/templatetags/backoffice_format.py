"""How the back office writes dates and amounts for people (Japanese conventions, docs/admin.md).

``valid_until`` is the member pages' expiry convention: the last day the points can be used. A
lot that expires at 2026-12-15 00:00 JST is 「2026年12月14日まで有効」. The exact instant stays in
the admin's detail (a title on the same element, the lot's own page). Issue 11 adds one shared
filter for the member pages; until it lands this one serves the back office, and the two should
become one.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django import template
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

register = template.Library()


def last_valid_day(expires_at: dt.datetime, zone: str | None = None) -> dt.date:
    """The last local day before the expiry instant (``zone``: the market's, default Asia/Tokyo)."""
    local = timezone.localtime(expires_at, zoneinfo.ZoneInfo(zone) if zone else None)
    return (local - dt.timedelta(microseconds=1)).date()


@register.filter
def valid_until(expires_at, zone: str | None = None) -> str:
    """2026-12-15 00:00 JST → 「2026年12月14日まで有効」."""
    if not expires_at:
        return ""
    return _("valid until %(date)s") % {"date": date_format(last_valid_day(expires_at, zone), "DATE_FORMAT")}


@register.filter
def instant(value, zone: str | None = None) -> str:
    """The exact instant, for the admin's detail: ``2026-12-15 00:00 JST``."""
    if not value:
        return ""
    local = timezone.localtime(value, zoneinfo.ZoneInfo(zone) if zone else None)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


@register.filter
def pt(amount) -> str:
    """Points with separators and the unit: ``1,234 ポイント``; a ledger entry signed: ``−42``."""
    if amount is None or amount == "":
        return ""
    return _("%(points)s points") % {"points": f"{int(amount):,}"}
