"""Reads of members that views and services share."""

from __future__ import annotations

from django.db.models import QuerySet

from subscriptions.compiled_queries import PLACEHOLDER_ID, CompiledQuery, Instances
from subscriptions.models import Market, Member, Subscription

MEMBER_COLUMNS = [field.attname for field in Member._meta.concrete_fields]
MARKET_COLUMNS = [field.attname for field in Market._meta.concrete_fields]
SUBSCRIPTION_COLUMNS = [field.attname for field in Subscription._meta.concrete_fields]
SUBSCRIPTIONS = Instances(Subscription, SUBSCRIPTION_COLUMNS)
_MEMBERS, _MARKETS = Instances(Member, MEMBER_COLUMNS), Instances(Market, MARKET_COLUMNS)


def _member_with_market(member_id: int) -> QuerySet:
    columns = [*MEMBER_COLUMNS, *(f"market__{column}" for column in MARKET_COLUMNS)]
    return Member.objects.filter(pk=member_id).values_list(*columns)


# Placing an exchange reads it afresh: compiled once per process (subscriptions/compiled_queries.py).
_MEMBER_WITH_MARKET = CompiledQuery(_member_with_market, member_id=PLACEHOLDER_ID)


def member_with_market(*, member_id: int) -> Member:
    """The member and their market as the database has them now, in one query
    (``Member.objects.select_related("market").get(pk=…)``); ``Member.DoesNotExist`` if none."""
    rows = _MEMBER_WITH_MARKET.rows(member_id=member_id)
    if not rows:
        raise Member.DoesNotExist(f"member {member_id}")
    return member_of_row(rows[0])


def member_of_row(values) -> Member:
    """The member of a row of ``MEMBER_COLUMNS`` then ``MARKET_COLUMNS``, their market loaded."""
    member = _MEMBERS.one(values[: len(MEMBER_COLUMNS)])
    Member.market.field.set_cached_value(member, _MARKETS.one(values[len(MEMBER_COLUMNS) :]))
    return member


def _subscription_active(member_id: int) -> QuerySet:
    active = Subscription.objects.filter(member_id=member_id, status=Subscription.Status.ACTIVE)
    return active.order_by("pk").values_list(*SUBSCRIPTION_COLUMNS)[:1]


# The home page reads it: compiled once per process (subscriptions/compiled_queries.py).
_SUBSCRIPTION_ACTIVE = CompiledQuery(_subscription_active, member_id=PLACEHOLDER_ID)


def subscription_active(*, member: Member) -> Subscription | None:
    """The member's active subscription, or None."""
    rows = _SUBSCRIPTION_ACTIVE.rows(member_id=member.pk)
    return SUBSCRIPTIONS.one(rows[0]) if rows else None
