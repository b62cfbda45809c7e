"""Reads of the points ledger shared by views, admin and tasks."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet, Sum
from django.utils import timezone

from ssr_points.models import Entry, Lot, PointAccount
from subscriptions.models import Member


def points_available(*, member: Member, at: dt.datetime | None = None) -> int:
    """What is left of lots unexpired at ``at`` (default now), less any clawback debt.

    A lot whose expiry instant has passed never counts, even before the nightly job ran.
    Negative when the member owes points from a returned order.
    """
    at = at or timezone.now()
    left = Lot.objects.filter(member_id=member.pk).spendable(at=at).aggregate(s=Sum("remaining"))["s"] or 0
    debt = PointAccount.objects.filter(member_id=member.pk).values_list("debt", flat=True).first() or 0
    return left - debt


def lots_open(*, member: Member, at: dt.datetime | None = None) -> QuerySet[Lot]:
    """Spendable lots, soonest-expiring first (the order redemptions consume them in)."""
    return Lot.objects.filter(member_id=member.pk).spendable(at=at or timezone.now()).fifo()


def entries_history(*, member: Member) -> QuerySet[Entry]:
    return Entry.objects.filter(member_id=member.pk).select_related("staff_user").order_by("-created_at", "-id")
