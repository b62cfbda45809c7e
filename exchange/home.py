"""The member's 定期購入特典 page (home): available points and what expires soon, the earn rate,
the lots by expiry and the ledger's history with the products of each exchange in it.

It shows the ledger and the exchanges together, so it lives here, above the ledger
(docs/apps.md): the ledger's selectors give the querysets and this page adds the products of the
exchanges to the history's entries.
"""

from __future__ import annotations

from django.db.models import Case, CharField, F, OuterRef, Subquery, TextField, Value, When
from django.db.models.aggregates import StringAgg
from django.db.models.functions import Cast, Concat
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import get_language

from exchange.models import ExchangeLine
from exchange.quotes import cancel_last_day
from exchange.selectors import box_of
from ssr_points.display import history_rows, lot_rows
from ssr_points.models import Entry
from ssr_points.selectors import (
    HISTORY_FILTERS,
    earn_progress,
    entries_history,
    points_expiring_soon,
    points_spendable,
)
from subscriptions.access import member_required
from subscriptions.pagination import page_of

HISTORY_PAGE_SIZE = 20
LOTS_SHOWN = 12
EXCHANGE_KINDS = (Entry.Kind.REDEMPTION, Entry.Kind.REVERSAL)
SEPARATOR, TIMES = "、", " × "  # between an exchange's lines; between a product and its quantity
_FIELD, _LINE = "\x1f", "\x1e"  # inside the aggregated text: after a line's SKU; between lines


def exchange_products() -> Case:
    """For an entry of an exchange (its redemption or reversal), the exchange's reward lines as
    one text, 「SKU␟name × quantity」 joined by ␞, in no particular order (``exchange_products_text``
    sorts them by SKU); None for other entries. Names in the active language."""
    name = "product__name_en" if (get_language() or "ja").startswith("en") else "product__name_ja"
    line = Concat(F("product__sku"), Value(_FIELD), F(name), Value(TIMES), Cast("quantity", CharField()))
    lines = (
        ExchangeLine.objects.filter(
            member_id=OuterRef("member_id"),
            exchange__member_id=OuterRef("member_id"),
            exchange__number=OuterRef("reference"),
        )
        .order_by()
        .values("exchange_id")
        .annotate(text=StringAgg(line, delimiter=Value(_LINE)))
        .values("text")
    )
    return Case(When(kind__in=EXCHANGE_KINDS, then=Subquery(lines)), default=Value(None), output_field=TextField())


def exchange_products_text(aggregated: str | None) -> str:
    """「name × 1、name × 2」 in SKU order, "" for an entry without an exchange."""
    if not aggregated:
        return ""
    lines = sorted(line.split(_FIELD, 1) for line in aggregated.split(_LINE))
    return SEPARATOR.join(text for _sku, text in lines)


@member_required
def home(request: HttpRequest) -> HttpResponse:
    """Available points and what expires soon, earn progress (months, rate, the next order's
    rate and points, the next higher rate and when it starts), the lots by expiry, and the
    ledger history with its filters (獲得 / 利用 / 失効).

    A fixed number of queries whatever the length of the history: the subscription with its
    items' PV, the spendable lots (the expiring-soon banner is computed from them), the box for
    the next shipment with its rewards, and one page of entries with the history's length and the
    products of their exchanges.
    """
    member = request.member
    now = timezone.now()
    show = request.GET.get("show", "")
    if show not in HISTORY_FILTERS:
        show = ""
    progress = earn_progress(member=member)
    spendable = points_spendable(member=member, at=now)
    box = box_of(member=member)
    entries = entries_history(member=member, show=show or None).annotate(exchange_products=exchange_products())
    page = page_of(entries, number=request.GET.get("page"), per_page=HISTORY_PAGE_SIZE)
    for entry in page.object_list:
        entry.exchange_products = exchange_products_text(entry.exchange_products)
    zone = member.market.time_zone
    context = {
        "member": member,
        "market": member.market,
        "available": spendable.available,
        "lots": lot_rows(((lot.expires_at, lot.remaining) for lot in spendable.lots), zone=zone)[:LOTS_SHOWN],
        "expiring_soon": points_expiring_soon(lots=spendable.lots, at=now),
        "progress": progress,
        "subscription": progress.subscription,
        "box": box,
        "box_shipment_date": progress.next_shipment_date,
        "box_cancel_day": cancel_last_day(progress.next_shipment_date),
        "history_filter": show,
        "page_query": f"show={show}&" if show else "",
        "page": page,
        "history": history_rows(page.object_list, zone=zone),
    }
    return render(request, "exchange/home.html", context)
