"""Reads of the exchange app shared by views (and, later, admin and tasks)."""

from __future__ import annotations

from exchange.models import ExchangeRequest
from subscriptions.models import Member


def exchange_requests_recent(*, member: Member, limit: int = 5) -> list[ExchangeRequest]:
    """The member's last requests to Customer Experience, newest first, so a sent one stays visible."""
    return list(ExchangeRequest.objects.filter(member_id=member.pk).order_by("-created_at", "-id")[:limit])
