"""The ledger as the member's home page shows it, as text: the history's entries (date, kind,
signed points, reason and, for a grant, its lot's last valid day) and the lots (last valid day,
points), dated in the market's time zone; the template lays them out."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils import timezone

from ssr_points.models import Entry
from subscriptions.templatetags.ssr_format import (
    day_text,
    last_valid_day,
    points,
    signed,
    valid_until_day_text,
    valid_until_text,
)


@dataclass(frozen=True)
class HistoryRow:
    entry: Entry
    date: str
    kind: str
    points: str
    is_plus: bool
    reason: str
    valid_until: str  # a grant's lot: 「…まで有効」; else empty


def history_rows(entries: list[Entry], *, zone: zoneinfo.ZoneInfo | str) -> list[HistoryRow]:
    """One row per entry, in the active language; ``entry.lot`` loaded with the entries."""
    if isinstance(zone, str):
        zone = zoneinfo.ZoneInfo(zone)
    rows = []
    with timezone.override(zone):  # Entry.member_reason dates an expired lot's grant in it
        for entry in entries:
            valid_until = ""
            if entry.kind == Entry.Kind.GRANT and entry.lot_id and entry.lot.expires_at:
                valid_until = valid_until_text(entry.lot.expires_at, zone)
            rows.append(
                HistoryRow(
                    entry=entry,
                    date=day_text(timezone.localtime(entry.created_at, zone).date()),
                    kind=entry.get_kind_display(),
                    points=signed(entry.points),
                    is_plus=entry.points > 0,
                    reason=entry.member_reason(),
                    valid_until=valid_until,
                )
            )
    return rows


@dataclass(frozen=True)
class LotRow:
    valid_until: str
    points: str


def lot_rows(lots: Iterable[tuple[dt.datetime, int]], *, zone: zoneinfo.ZoneInfo | str) -> list[LotRow]:
    """Points by their last valid day (「…まで有効」), in the active language, from ``(expires_at,
    points)`` pairs soonest first: lots that end on the same day are one row, since a member reads
    days, not lots (two grants of one day would otherwise show the same date twice)."""
    days: list[tuple[dt.date, int]] = []
    for expires_at, lot_points in lots:
        day = last_valid_day(expires_at, zone)
        if days and days[-1][0] == day:
            days[-1] = (day, days[-1][1] + lot_points)
        else:
            days.append((day, lot_points))
    return [LotRow(valid_until=valid_until_day_text(day), points=points(total)) for day, total in days]
