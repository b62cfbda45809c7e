"""Reads of the exchange app shared by views, emails and admin."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from exchange.models import Exchange, ExchangeRequest
from exchange.quotes import cancel_last_day
from ssr_points.models import Allocation
from subscriptions.compiled_queries import PLACEHOLDER_ID, PLACEHOLDER_KEY, CompiledQuery
from subscriptions.models import Member, Subscription


def exchange_requests_recent(*, member: Member, limit: int = 5) -> list[ExchangeRequest]:
    """The member's last requests to Customer Experience, newest first, so a sent one stays visible."""
    return list(ExchangeRequest.objects.filter(member_id=member.pk).order_by("-created_at", "-id")[:limit])


@dataclass(frozen=True)
class BundledShipment:
    """When a bundled exchange ships and the last day it can be cancelled."""

    shipment_date: dt.date
    cancel_last_day: dt.date | None  # None: it can no longer be cancelled


def exchange_bundled_shipment(*, exchange: Exchange) -> BundledShipment | None:
    """For a bundled exchange not yet shipped: the shipment date of its subscription order (once
    created) or of the member's next one, and the cancel cut-off. One query at most (none when
    ``exchange.order`` was selected with it)."""
    if exchange.ship_now or exchange.status != Exchange.Status.PLACED:
        return None
    if exchange.order_id is not None:
        return bundled_shipment(
            ship_now=False, status=exchange.status, order_shipment_date=exchange.order.shipment_date
        )
    if hasattr(exchange, "next_shipment_date"):  # read with the exchange (``with_next_shipment``)
        date = exchange.next_shipment_date
    else:
        date = (
            Subscription.objects.filter(member_id=exchange.member_id, status=Subscription.Status.ACTIVE)
            .values_list("next_shipment_date", flat=True)
            .first()
        )
    return bundled_shipment(ship_now=False, status=exchange.status, next_shipment_date=date)


def bundled_shipment(
    *,
    ship_now: bool,
    status: str,
    order_shipment_date: dt.date | None = None,
    next_shipment_date: dt.date | None = None,
) -> BundledShipment | None:
    """The rule of ``exchange_bundled_shipment`` on plain values: the subscription order's date
    once the exchange has one (no longer cancellable), else the member's next shipment date."""
    if ship_now or status != Exchange.Status.PLACED:
        return None
    if order_shipment_date is not None:
        return BundledShipment(shipment_date=order_shipment_date, cancel_last_day=None)
    if next_shipment_date is None:
        return None
    return BundledShipment(shipment_date=next_shipment_date, cancel_last_day=cancel_last_day(next_shipment_date))


@dataclass(frozen=True)
class PlacedExchange:
    """What the done page shows of an exchange just placed."""

    number: str
    points: int
    total: int
    ship_now: bool
    shipment: BundledShipment | None


def _placed_exchange(member_id: int, number: str) -> QuerySet:
    return exchanges_with_next_shipment(Exchange.objects.filter(member_id=member_id, number=number)).values_list(
        "number", "points", "total", "ship_now", "status", "order__shipment_date", "next_shipment_date"
    )


_PLACED_EXCHANGE = CompiledQuery(_placed_exchange, member_id=PLACEHOLDER_ID, number=PLACEHOLDER_KEY)


def placed_exchange(*, member_id: int, number: str) -> PlacedExchange | None:
    """The done page's exchange, or None when the member has none of that number: one query of
    seven columns, compiled once per process (``subscriptions/compiled_queries.py``)."""
    rows = _PLACED_EXCHANGE.rows(member_id=member_id, number=number)
    if not rows:
        return None
    number, points, total, ship_now, status, order_shipment_date, next_shipment_date = rows[0]
    shipment = bundled_shipment(
        ship_now=ship_now,
        status=status,
        order_shipment_date=order_shipment_date,
        next_shipment_date=next_shipment_date,
    )
    return PlacedExchange(number=number, points=points, total=total, ship_now=ship_now, shipment=shipment)


def exchanges_with_next_shipment(queryset: QuerySet[Exchange]) -> QuerySet[Exchange]:
    """The exchanges with their subscription order and the member's next shipment date, in the
    same query, for ``exchange_bundled_shipment`` (the done and detail pages)."""
    next_date = Subscription.objects.filter(member_id=OuterRef("member_id"), status=Subscription.Status.ACTIVE).values(
        "next_shipment_date"
    )[:1]
    return queryset.select_related("order").annotate(next_shipment_date=Subquery(next_date))


@dataclass(frozen=True)
class PointsReturn:
    """Points a cancellation gives back to one lot, and whether that lot is still valid."""

    lot_expires_at: dt.datetime
    points: int
    expired: bool


def exchange_points_return(*, exchange: Exchange, at: dt.datetime | None = None) -> list[PointsReturn]:
    """Where a cancellation puts the exchange's points: the lots its redemption took them from,
    soonest-expiring first (a lot already past its expiry takes them back and they lapse)."""
    at = at or timezone.now()
    allocations = (
        Allocation.objects.filter(member_id=exchange.member_id, entry_id=exchange.redemption_id, points__gt=0)
        .select_related("lot")
        .order_by("lot__expires_at", "lot_id")
    )
    return [
        PointsReturn(lot_expires_at=a.lot.expires_at, points=a.points, expired=a.lot.expires_at <= at)
        for a in allocations
    ]
