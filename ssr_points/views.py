"""The member's 定期購入特典 (subscription rewards) page: the back office home."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from ssr_points.selectors import HISTORY_PAGE_SIZE, EntriesHistory, points_spendable
from subscriptions.access import member_required
from subscriptions.selectors import subscription_active

LOTS_SHOWN = 12


@member_required
def home(request: HttpRequest) -> HttpResponse:
    """Available points, the lots expiring soonest, earn rate and tenure, and the ledger history.

    A fixed number of queries whatever the length of the history: the history is paginated
    and each entry's reason is rendered from its own row (``Entry.member_reason``).
    """
    member = request.member
    now = timezone.now()
    subscription = subscription_active(member=member)
    months = subscription.months_subscribed if subscription else 0
    history = EntriesHistory(member=member)
    spendable = points_spendable(member=member, at=now)
    context = {
        "member": member,
        "market": member.market,
        "available": spendable.available,
        "lots": spendable.lots[:LOTS_SHOWN],
        "subscription": subscription,
        "months_subscribed": months,
        "earn_rate": member.market.earn_rate_percent(max(months, 1)),
        "next_earn_rate": member.market.earn_rate_percent(months + 1),
        "page": Paginator(history, HISTORY_PAGE_SIZE).get_page(request.GET.get("page")),
    }
    return render(request, "ssr_points/home.html", context)
