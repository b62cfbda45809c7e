"""The points report over any date range (finance; docs/admin.md, "The points report").

``report_points_movements`` groups the ledger's entries of ``start``–``end`` (whole days in the
market's time zone, both included) by month: granted, adjusted, redeemed (net of reversals),
expired, clawed back — by when the ledger recorded each (``Entry.created_at``), from the index
``entry_created_at_idx``; a month the range cuts counts only its days inside the range. One
grouped query whatever the length of the range.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from django.db.models import Sum
from django.db.models.functions import TruncMonth

from ssr_points.models import Entry
from ssr_points.selectors import MonthMovements
from subscriptions.models import Market

# Years of monthly rows are a page; a range of decades is a slip of the keyboard.
RANGE_MONTHS_MAX = 120


def months_between(start: dt.date, end: dt.date) -> Iterator[dt.date]:
    """The first day of each month from ``start``'s to ``end``'s, both included."""
    month = start.replace(day=1)
    while month <= end:
        yield month
        month = (month + dt.timedelta(days=32)).replace(day=1)


def day_start(day: dt.date, zone) -> dt.datetime:
    """00:00 of ``day`` in the market's time zone: where a range's day begins."""
    return dt.datetime.combine(day, dt.time(), tzinfo=zone)


def _as_month(value) -> dt.date:
    return (value.date() if isinstance(value, dt.datetime) else value).replace(day=1)


def report_points_movements(*, market: Market, start: dt.date, end: dt.date) -> list[MonthMovements]:
    """Per month of ``start``–``end`` (oldest first): the points the ledger moved, by kind."""
    zone = market.zone
    grouped = (
        Entry.objects.filter(
            member__market=market,
            created_at__gte=day_start(start, zone),
            created_at__lt=day_start(end + dt.timedelta(days=1), zone),
        )
        .annotate(month=TruncMonth("created_at", tzinfo=zone))
        .values("month", "kind")
        .annotate(points=Sum("points"))
        .values_list("month", "kind", "points")
        .order_by()
    )
    sums: dict[tuple[dt.date, str], int] = {}
    for month, kind, points in grouped:  # at most months × kinds rows
        key = (_as_month(month), kind)
        sums[key] = sums.get(key, 0) + points
    return [
        MonthMovements(
            month=month,
            granted=sums.get((month, Entry.Kind.GRANT), 0),
            adjusted=sums.get((month, Entry.Kind.ADJUSTMENT), 0),
            redeemed=-(sums.get((month, Entry.Kind.REDEMPTION), 0) + sums.get((month, Entry.Kind.REVERSAL), 0)),
            expired=-sums.get((month, Entry.Kind.EXPIRY), 0),
            clawed_back=-sums.get((month, Entry.Kind.CLAWBACK), 0),
        )
        for month in months_between(start, end)
    ]
