"""The ledger as the member's home page shows it, as text: the history's entries (date, kind,
signed points, reason and, for a grant, its lot's last valid day) and the lots (last valid day,
points), dated in the market's time zone.

Formatted here once per row rather than by filters and tags inside the template's loops: the
loops of up to twenty entries and twelve lots were most of the home page's cost
(docs/performance.md). The text is the same the filters gave (``date:"DATE_FORMAT"`` in
``{% timezone market.time_zone %}``, ``signed``, ``points``, ``valid_until``,
``Entry.member_reason``); tests/ssr_points/test_home.py reads it.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from django.utils import timezone
from django.utils.formats import date_format

from ssr_points.models import Entry, Lot
from subscriptions.templatetags.ssr_format import points, signed, valid_until_text


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
    dates: dict[dt.date, str] = {}
    kinds: dict[str, str] = {}
    rows = []
    with timezone.override(zone):  # Entry.member_reason dates an expired lot's grant in it
        for entry in entries:
            local = timezone.localtime(entry.created_at, zone)
            day = dates.get(local.date())
            if day is None:
                day = dates[local.date()] = date_format(local, "DATE_FORMAT")
            kind = kinds.get(entry.kind)
            if kind is None:
                kind = kinds[entry.kind] = str(entry.get_kind_display())
            valid_until = ""
            if entry.kind == Entry.Kind.GRANT and entry.lot_id and entry.lot.expires_at:
                valid_until = valid_until_text(entry.lot.expires_at, zone)
            rows.append(
                HistoryRow(
                    entry=entry,
                    date=day,
                    kind=kind,
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


def lot_rows(lots: list[Lot], *, zone: zoneinfo.ZoneInfo | str) -> list[LotRow]:
    """The lots' last valid day (「…まで有効」) and points left, in the active language."""
    return [LotRow(valid_until=valid_until_text(lot.expires_at, zone), points=points(lot.remaining)) for lot in lots]
