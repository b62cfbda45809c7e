"""Receiving order events: verify, record once by event id, apply through the order services."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from fulfilment.services import order_mark_returned, order_mark_shipped
from order_events.exceptions import EventRejected
from order_events.models import OrderEvent
from subscriptions.models import Member, SubscriptionOrder

SIGNATURE_PREFIX = "sha256="


def event_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over ``<timestamp>.<raw body>`` as ``sha256=<hex>``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def event_verify(*, timestamp: str | None, signature: str | None, body: bytes, now: dt.datetime) -> None:
    """Refuse an unsigned, wrongly signed or stale request (a replay outside the allowed skew)."""
    if not timestamp or not signature:
        raise EventRejected(401, "signature_missing", "X-SSR-Timestamp and X-SSR-Signature headers are required.")
    expected = event_signature(secret=settings.ORDER_EVENTS_SECRET, timestamp=timestamp, body=body)
    if not hmac.compare_digest(expected, signature.strip()):
        raise EventRejected(401, "bad_signature", "The signature does not match the body and timestamp.")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise EventRejected(400, "bad_timestamp", "X-SSR-Timestamp must be Unix seconds.") from None
    if abs(now.timestamp() - sent_at) > settings.ORDER_EVENTS_MAX_SKEW_SECONDS:
        raise EventRejected(
            401,
            "stale_timestamp",
            f"The timestamp is more than {settings.ORDER_EVENTS_MAX_SKEW_SECONDS} s from our clock.",
        )


def order_event_receive(
    *,
    event_id: str,
    kind: str,
    member_number: str,
    order_number: str,
    occurred_at: dt.datetime | None,
    reason: str = "",
    body_sha256: str,
    now: dt.datetime | None = None,
) -> tuple[OrderEvent, bool]:
    """Apply an order event once: ``order.shipped`` → ``order_mark_shipped`` (the grant follows
    on commit), ``order.returned`` → ``order_mark_returned`` (claws the points back).

    ``occurred_at`` (when the commerce system says it happened) is kept on the event and the
    order (its ship or return date); the ledger dates its entries ``now`` (docs/ledger.md). An
    ``occurred_at`` before the order existed (or shipped, for a return) is refused.

    Returns (event, created); a redelivered event id returns its first record and changes
    nothing. Unknown member or order, an event id reused for another body, or an order in a
    state the event cannot apply to raise ``EventRejected``; nothing is written then.
    """
    now = now or timezone.now()
    existing = OrderEvent.objects.filter(event_id=event_id).first()
    if existing is not None:
        return _duplicate(existing, kind=kind, body_sha256=body_sha256), False
    member = Member.objects.filter(member_number=member_number).first()
    if member is None:
        raise EventRejected(404, "unknown_member", f"No member with number {member_number}.")
    order = SubscriptionOrder.objects.filter(member=member, number=order_number).first()
    if order is None:
        raise EventRejected(404, "unknown_order", f"Member {member_number} has no order {order_number}.")
    occurred_at = occurred_at or now
    try:
        with transaction.atomic():
            event = OrderEvent.objects.create(
                event_id=event_id,
                kind=kind,
                member=member,
                order=order,
                occurred_at=occurred_at,
                body_sha256=body_sha256,
                received_at=now,
            )
            order = SubscriptionOrder.objects.select_for_update().get(pk=order.pk)
            if kind == OrderEvent.Kind.SHIPPED:
                if order.status not in (SubscriptionOrder.Status.CREATED, SubscriptionOrder.Status.SHIPPED):
                    raise EventRejected(409, "order_not_shippable", f"Order {order_number} is {order.status}.")
                _occurred_not_before(occurred_at, order.created_at, what="the order was created")
                order_mark_shipped(order=order, shipped_at=occurred_at, now=now)
            else:
                if order.status not in (SubscriptionOrder.Status.SHIPPED, SubscriptionOrder.Status.RETURNED):
                    raise EventRejected(409, "order_not_shipped", f"Order {order_number} is {order.status}.")
                _occurred_not_before(occurred_at, order.shipped_at, what="the order shipped")
                order_mark_returned(
                    order=order,
                    returned_at=occurred_at,
                    reason=reason or f"注文 {order_number} の返品によるポイント取消",
                    now=now,
                )
    except IntegrityError:
        existing = OrderEvent.objects.filter(event_id=event_id).first()
        if existing is None:
            raise
        return _duplicate(existing, kind=kind, body_sha256=body_sha256), False
    return event, True


def _occurred_not_before(occurred_at: dt.datetime, earliest: dt.datetime | None, *, what: str) -> None:
    """An event cannot have happened before its order could: refuse it (a clock off by more than
    the allowed skew, or a forged date) instead of recording a date that cannot be true."""
    if earliest is None:
        return
    slack = dt.timedelta(seconds=settings.ORDER_EVENTS_MAX_SKEW_SECONDS)
    if occurred_at < earliest - slack:
        raise EventRejected(
            422,
            "occurred_at_out_of_range",
            f"'occurred_at' ({occurred_at.isoformat()}) is before {what} ({earliest.isoformat()}).",
        )


def _duplicate(existing: OrderEvent, *, kind: str, body_sha256: str) -> OrderEvent:
    if existing.kind != kind or existing.body_sha256 != body_sha256:
        raise EventRejected(409, "event_id_reused", f"Event {existing.event_id} was received with a different body.")
    return existing
