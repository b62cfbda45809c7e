"""The ledger as the member's home page shows it, as text: the history's entries (date, kind,
signed points, reason and, for a grant, its lot's last valid day) and the lots (last valid day,
points), dated in the market's time zone.

Formatted here once per row rather than by filters and tags inside the template's loops: the
loops of up to twenty entries and twelve lots were most of the home page's cost
(docs/performance.md). The text is the same the filters gave (``date:"DATE_FORMAT"`` in
``{% timezone market.time_zone %}``, ``signed``, ``points``, ``valid_until``,
``Entry.member_reason``); tests/ssr_points/test_home.py reads it. Each row's markup is here too
(``HistoryRow.html``, ``LotRow.html``): one template variable per row instead of a dozen nodes,
escaped by ``format_html`` (subscriptions/markup.py) as the template escapes its variables.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass

from django.utils import timezone
from django.utils.safestring import SafeString

from ssr_points.models import Entry, Lot
from subscriptions.markup import format_html
from subscriptions.templatetags.ssr_format import day_text, points, signed, valid_until_text


@dataclass(frozen=True)
class HistoryRow:
    entry: Entry
    date: str
    kind: str
    points: str
    is_plus: bool
    reason: str
    valid_until: str  # a grant's lot: 「…まで有効」; else empty

    @property
    def html(self) -> SafeString:
        """The row's ``<li>``; read when the template renders it, after
        ``{% exchange_lines_attach %}`` has set the exchange's products on the entry."""
        products = getattr(self.entry, "exchange_products", "")
        return format_html(
            _HISTORY_ROW,
            self.date,
            self.kind,
            "plus" if self.is_plus else "minus",
            self.points,
            self.reason,
            format_html(' <span class="meta">{}</span>', self.valid_until) if self.valid_until else "",
            format_html('<span class="ledger-products">{}</span>', products) if products else "",
        )


_HISTORY_ROW = """
        <li class="ledger-entry">
          <span class="ledger-date">{}</span>
          <span class="ledger-kind">{}</span>
          <span class="ledger-points {}">{}</span>
          <span class="ledger-reason">{}{}</span>
          {}
        </li>
      """


_KIND_LABELS = dict(Entry.Kind.choices)  # what ``get_kind_display`` reads, without its per-call hashing


def history_rows(entries: list[Entry], *, zone: zoneinfo.ZoneInfo | str) -> list[HistoryRow]:
    """One row per entry, in the active language; ``entry.lot`` loaded with the entries."""
    if isinstance(zone, str):
        zone = zoneinfo.ZoneInfo(zone)
    kinds: dict[str, str] = {}
    rows = []
    with timezone.override(zone):  # Entry.member_reason dates an expired lot's grant in it
        for entry in entries:
            day = day_text(timezone.localtime(entry.created_at, zone).date())
            kind = kinds.get(entry.kind)
            if kind is None:
                kind = kinds[entry.kind] = str(_KIND_LABELS.get(entry.kind, entry.kind))
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

    @property
    def html(self) -> SafeString:
        return format_html(_LOT_ROW, self.valid_until, self.points)


_LOT_ROW = """
          <tr><td>{}</td><td class="num">{}</td></tr>
        """


def lot_rows(lots: list[Lot], *, zone: zoneinfo.ZoneInfo | str) -> list[LotRow]:
    """The lots' last valid day (「…まで有効」) and points left, in the active language."""
    return [LotRow(valid_until=valid_until_text(lot.expires_at, zone), points=points(lot.remaining)) for lot in lots]
