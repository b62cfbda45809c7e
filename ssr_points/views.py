"""The member's 定期購入特典 (subscription rewards) page: the back office home."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from ssr_points.display import history_rows, lot_rows, progress_html
from ssr_points.selectors import (
    HISTORY_FILTERS,
    HISTORY_PAGE_SIZE,
    EntriesHistory,
    earn_progress,
    points_expiring_soon,
    points_spendable,
)
from subscriptions.access import member_required

LOTS_SHOWN = 12


@member_required
def home(request: HttpRequest) -> HttpResponse:
    """Available points and what expires soon, earn progress (months, rate, the next order's
    rate and points, the next higher rate and when it starts), the lots by expiry, and the
    ledger history with its filters (獲得 / 利用 / 失効).

    A fixed number of queries whatever the length of the history: the subscription with its
    items' PV, the spendable lots (the expiring-soon banner is computed from them), the count
    and one page of entries (each reason rendered from its own row) with the products of their
    exchanges (exchange/history.py; where the database cannot order an aggregate,
    ``{% exchange_lines_attach %}`` reads them in one more query).
    """
    member = request.member
    now = timezone.now()
    show = request.GET.get("show", "")
    if show not in HISTORY_FILTERS:
        show = ""
    progress = earn_progress(member=member)
    spendable = points_spendable(member=member, at=now)
    context = {
        "member": member,
        "market": member.market,
        "available": spendable.available,
        "lots": lot_rows(spendable.lots[:LOTS_SHOWN], zone=member.market.time_zone),
        "expiring_soon": points_expiring_soon(lots=spendable.lots, at=now),
        "progress": progress,
        "progress_html": progress_html(progress),
        "subscription": progress.subscription,
        "history_filter": show,
        "page_query": f"show={show}&" if show else "",
    }
    page = Paginator(EntriesHistory(member=member, show=show or None), HISTORY_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context["page"] = page
    context["history"] = history_rows(page.object_list, zone=member.market.time_zone)
    return render(request, "ssr_points/home.html", context)
