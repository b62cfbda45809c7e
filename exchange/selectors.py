"""Reads of the exchange app shared by views, emails and admin."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from exchange.models import Exchange, ExchangeLine, ExchangeRequest
from exchange.quotes import cancel_last_day
from ssr_points.models import Entry
from ssr_points.selectors import redemptions_by_lot
from subscriptions.catalogue import catalogue_for, products_of
from subscriptions.models import Member, Product, Subscription


def exchange_requests_recent(*, member: Member, limit: int = 5) -> list[ExchangeRequest]:
    """The member's last requests to Customer Experience, newest first, so a sent one stays visible."""
    return list(ExchangeRequest.objects.filter(member_id=member.pk).order_by("-created_at", "-id")[:limit])


def reward_suggested(*, member: Member, expiring_points: int, available: int) -> Product | None:
    """The reward the expiring-soon reminder suggests: one the member can afford now — the cheapest
    that uses all the expiring points, else the dearest affordable one (it uses the most of them);
    None when nothing is affordable. The catalogue lists the rewards by points, then SKU."""
    affordable = [product for product in catalogue_for(member.market).exchangeable if product.point_cost <= available]
    covering = [product for product in affordable if product.point_cost >= expiring_points]
    if covering:
        return covering[0]
    return affordable[-1] if affordable else None


@dataclass(frozen=True)
class BundledShipment:
    """When a bundled exchange ships and the last day it can be cancelled."""

    shipment_date: dt.date
    cancel_last_day: dt.date | None  # None: it can no longer be cancelled


def exchange_bundled_shipment(*, exchange: Exchange) -> BundledShipment | None:
    """For a bundled exchange not yet shipped: the shipment date of its subscription order (once
    created; no longer cancellable) or of the member's next one, and the cancel cut-off. One
    query at most (none when the exchange was read with ``exchanges_with_next_shipment``)."""
    if exchange.ship_now or exchange.status != Exchange.Status.PLACED:
        return None
    if exchange.order_id is not None:
        return BundledShipment(shipment_date=exchange.order.shipment_date, cancel_last_day=None)
    if hasattr(exchange, "next_shipment_date"):  # read with the exchange (``exchanges_with_next_shipment``)
        date = exchange.next_shipment_date
    else:
        date = (
            Subscription.objects.filter(member_id=exchange.member_id, status=Subscription.Status.ACTIVE)
            .values_list("next_shipment_date", flat=True)
            .first()
        )
    if date is None:
        return None
    return BundledShipment(shipment_date=date, cancel_last_day=cancel_last_day(date))


@dataclass(frozen=True)
class PlacedExchange:
    """What the done page shows of an exchange just placed."""

    number: str
    points: int
    total: int
    ship_now: bool
    shipment: BundledShipment | None
    revision: int = 1  # more than 1: the box was changed


def placed_exchange(*, member_id: int, number: str) -> PlacedExchange | None:
    """The done page's exchange, or None when the member has none of that number: one query."""
    exchange = exchanges_with_next_shipment(Exchange.objects.filter(member_id=member_id, number=number)).first()
    if exchange is None:
        return None
    return PlacedExchange(
        number=exchange.number,
        points=exchange.points,
        total=exchange.total,
        ship_now=exchange.ship_now,
        shipment=exchange_bundled_shipment(exchange=exchange),
        revision=exchange.revision,
    )


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


def exchange_redemptions(*, exchange: Exchange) -> QuerySet[Entry]:
    """The ledger's redemptions of the exchange: its placing's, and one per change of its box that
    added points (each references the exchange's number)."""
    return Entry.objects.filter(member_id=exchange.member_id, kind=Entry.Kind.REDEMPTION, reference=exchange.number)


def exchange_points_return(*, exchange: Exchange, at: dt.datetime | None = None) -> list[PointsReturn]:
    """Where a cancellation puts the exchange's points: the lots its redemptions (a box has one per
    change that added points) still hold them from, soonest-expiring first; for a cancelled
    exchange, what its cancellation gave back to each. A lot already past its expiry takes them back
    and they lapse."""
    at = at or timezone.now()
    cancelled = exchange.status == Exchange.Status.CANCELLED
    by_expiry: dict[dt.datetime, int] = {}  # lots of one day end at one instant: one row, as members read days
    for lot, points in redemptions_by_lot(
        member_id=exchange.member_id,
        redemptions=exchange_redemptions(exchange=exchange),
        given_back_since=exchange.cancelled_at if cancelled else None,
    ):
        by_expiry[lot.expires_at] = by_expiry.get(lot.expires_at, 0) + points
    return [
        PointsReturn(lot_expires_at=expires_at, points=points, expired=expires_at <= at)
        for expires_at, points in by_expiry.items()
    ]


# -- the box: the member's rewards for the next subscription shipment ----------------------------


@dataclass(frozen=True)
class Box:
    """The member's box for the next subscription shipment as the pages show it."""

    exchange: Exchange
    lines: list  # ExchangeLine, in SKU order
    earlier: list[Exchange]  # open bundled exchanges placed before boxes existed, each with its own fee

    @property
    def quantities(self) -> dict[int, int]:
        return {line.product_id: line.quantity for line in self.lines}

    @property
    def revision(self) -> int:
        return self.exchange.revision


def box_of(*, member: Member) -> Box | None:
    """The member's open box with its reward lines (and those of any bundled exchange placed before
    boxes existed), or None: one query; the products come from the market's catalogue.

    Open bundled exchanges are the box and those placed before boxes existed (a number that only
    shrinks: every bundled exchange since is the box). The few lines are sorted here, newest
    exchange first: an ORDER BY over the joined exchange costs more to build than the sort."""
    lines = list(
        ExchangeLine.objects.filter(
            member_id=member.pk,
            exchange__ship_now=False,
            exchange__status=Exchange.Status.PLACED,
            exchange__order__isnull=True,
        ).select_related("exchange")
    )
    if not lines:
        return None
    lines.sort(key=lambda line: (line.exchange.created_at, line.exchange_id), reverse=True)
    products = products_of(member.market, {line.product_id for line in lines})
    for line in lines:
        line.product = products[line.product_id]
    box = lines[0].exchange
    return Box(
        exchange=box,
        lines=sorted((line for line in lines if line.exchange_id == box.pk), key=lambda line: line.product.sku),
        earlier=list({line.exchange_id: line.exchange for line in lines if line.exchange_id != box.pk}.values()),
    )
