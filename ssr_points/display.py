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
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, ngettext

from ssr_points.models import Entry, Lot
from ssr_points.selectors import EarnProgress
from subscriptions.markup import format_html, interpolated
from subscriptions.templatetags.ssr_format import day_text, long_date, points, pv, signed, valid_until_text


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


# -- the earn rate: where the member stands on the schedule --------------------------------------


def progress_html(progress: EarnProgress) -> SafeString:
    """The home page's earn-rate facts (months, rate, the next order's date, rate and points) and
    the next step of the schedule, in the active language. Written here rather than in the
    template: its twenty-odd nodes cost home as much as the history's rows did
    (docs/performance.md); the messages are the template's, so the catalogue is unchanged."""
    months = progress.months_subscribed
    months_text = ngettext("%(months)s month", "%(months)s months", months) % {"months": months}
    facts = [
        ("months", gettext("Months subscribed"), months_text),
        ("rate", gettext("Current earn rate"), f"{progress.current_rate}%"),
    ]
    if progress.subscription:
        facts += [
            ("next-order", gettext("Next order"), long_date(progress.next_shipment_date)),
            ("next-rate", gettext("Earn rate of your next order"), f"{progress.next_order_rate}%"),
            ("next-points", gettext("Points your next order will earn"), points(progress.next_order_points)),
        ]
    html = ['<dl class="facts">']
    html += [format_html(_FACT, label, figure, value) for figure, label, value in facts]
    html.append("</dl>")
    if progress.subscription and progress.next_step_rate:
        step = gettext("From your order of %(day)s (month %(month)s of your subscription) you earn %(rate)s%%.")
        values = {"day": long_date(progress.next_step_starts_on), "month": progress.next_step_month}
        html.append(_NEXT_STEP.format(interpolated(step, rate=progress.next_step_rate, **values)))
        how = gettext(
            "Points are granted when an order ships: its PV (%(pv)s for your next order) × the earn rate, rounded "
            "down. Keep your subscription going every month and the rate rises."
        )
        html.append(_HELP.format(interpolated(how, pv=pv(progress.next_order_pv))))
    elif progress.subscription:
        top = gettext("You have reached the highest earn rate. Keep your subscription going every month to keep it.")
        html.append(_HELP.format(top))
    else:
        start = gettext("Add a subscription to start earning points: each shipped order earns a share of its PV.")
        html.append(_HELP.format(start))
    return mark_safe("".join(html))  # noqa: S308 - each value escaped above


_FACT = '<div><dt>{}</dt><dd data-figure="{}">{}</dd></div>'
_NEXT_STEP = '<p class="progress-next" data-figure="next-step">{}</p>'
_HELP = '<p class="help">{}</p>'
