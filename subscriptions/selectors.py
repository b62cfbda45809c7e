"""Reads of members that views and services share."""

from __future__ import annotations

from subscriptions.models import Member, Subscription


def member_with_market(*, member_id: int) -> Member:
    """The member and their market as the database has them now, in one query;
    ``Member.DoesNotExist`` if none."""
    return Member.objects.select_related("market").get(pk=member_id)


def subscription_active(*, member: Member) -> Subscription | None:
    """The member's active subscription, or None."""
    return Subscription.objects.filter(member_id=member.pk, status=Subscription.Status.ACTIVE).order_by("pk").first()
