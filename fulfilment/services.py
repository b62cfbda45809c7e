"""The subscription order's lifecycle: created with its bundled exchanges, shipped (points
granted), returned (points clawed back).

It sits above ``subscriptions`` (orders), ``ssr_points`` (the ledger) and ``exchange`` (the
bundled rewards) and drives all three, so none of them needs to know about the others
(docs/apps.md). The ledger records facts when they are written (docs/ledger.md): an order's
ship or return date from the commerce system (``shipped_at``, ``returned_at``) is kept on the
order, while the grant and the clawback are dated when the ledger writes them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from functools import partial

from django.db import transaction
from django.utils import timezone

from exchange.models import Exchange
from exchange.services import exchange_mark_shipped
from fulfilment.models import PendingGrant
from fulfilment.tasks import order_grant_enqueue
from ssr_points.services import points_account_lock, points_claw_back_order
from subscriptions.models import Subscription, SubscriptionOrder, SubscriptionOrderLine
from subscriptions.services import order_create, shipment_date_next


def order_mark_shipped(
    *, order: SubscriptionOrder, shipped_at: dt.datetime | None = None, now: dt.datetime | None = None
) -> SubscriptionOrder:
    """Mark an order shipped, with the bundled exchanges it carries; its points are granted
    by a task once this commits (dated when the grant is written, not ``shipped_at``).

    The grant owed is recorded in the same transaction (a ``PendingGrant``: the outbox), so no
    grant is lost whatever is down: the task's message is sent after the commit and may fail
    (the broker down) without failing the caller, and the grant sweep delivers what is pending.

    ``shipped_at`` is when fulfilment says the parcel left (default: now); it is kept on the
    order and its exchanges for members and staff to read.
    """
    now = now or timezone.now()
    shipped_at = shipped_at or now
    with transaction.atomic():
        order = SubscriptionOrder.objects.select_for_update().get(pk=order.pk)
        if order.status == SubscriptionOrder.Status.CREATED:
            order.status = SubscriptionOrder.Status.SHIPPED
            order.shipped_at = shipped_at
            order.save(update_fields=["status", "shipped_at"])
            for exchange in Exchange.objects.filter(order=order, status=Exchange.Status.PLACED).order_by("pk"):
                exchange_mark_shipped(exchange=exchange, now=shipped_at)
            PendingGrant.objects.create(member_id=order.member_id, order=order, created_at=now)
            # robust: whatever sending raises, the caller has committed and must not fail now.
            transaction.on_commit(partial(order_grant_enqueue, order.pk), robust=True)
    return order


def orders_mark_shipped(
    *, orders: Iterable[SubscriptionOrder], shipped_at: dt.datetime | None = None
) -> list[SubscriptionOrder]:
    """Staff (admin action) or fulfilment mark several orders shipped: one transaction per order,
    so a large selection holds no lock for long; orders already shipped are left as they are."""
    shipped_at = shipped_at or timezone.now()
    return [order_mark_shipped(order=order, shipped_at=shipped_at) for order in orders]


def order_mark_returned(
    *,
    order: SubscriptionOrder,
    returned_at: dt.datetime | None = None,
    staff_user=None,
    reason: str = "",
    now: dt.datetime | None = None,
) -> SubscriptionOrder:
    """Mark a shipped order returned and take back the points it granted, from the member's
    lots as they stand now (``returned_at`` is kept on the order, it moves nothing). A grant
    still pending is no longer owed."""
    now = now or timezone.now()
    with transaction.atomic():
        order = SubscriptionOrder.objects.select_for_update().get(pk=order.pk)
        if order.status == SubscriptionOrder.Status.SHIPPED:
            order.status = SubscriptionOrder.Status.RETURNED
            order.returned_at = returned_at or now
            order.save(update_fields=["status", "returned_at"])
        if order.status == SubscriptionOrder.Status.RETURNED:
            points_claw_back_order(order=order, reason=reason, staff_user=staff_user, now=now)
            PendingGrant.objects.filter(member_id=order.member_id, order_id=order.pk).delete()
    return order


def subscription_order_due(*, subscription: Subscription, today: dt.date) -> SubscriptionOrder | None:
    """Turn an active subscription due on or before ``today`` into its order, then move it on.

    One transaction, locks in the ledger's order (the member's point account, the
    subscription, the bundled exchanges). The order carries the subscription's items plus
    the reward items of the member's bundled exchanges that are placed and not yet on an
    order (reward lines: price 0, PV 0), and their fees (each exchange's agreed
    ``charge_incl_tax``: exchange fee + shipping) in its total; the exchanges are linked to
    the order, so they can no longer be cancelled. The next shipment date moves on a month
    at a time until it is after ``today`` (a run missed for days creates one order, not
    several). Returns the new order, or ``None`` when the subscription is not (or no longer)
    due or that date's order exists already: rerunnable.
    """
    with transaction.atomic():
        points_account_lock(member=subscription.member)
        subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
        if subscription.status != Subscription.Status.ACTIVE or subscription.next_shipment_date > today:
            return None
        shipment_date = subscription.next_shipment_date
        next_date = shipment_date
        while next_date <= today:
            next_date = shipment_date_next(next_date)
        order = None
        already = (
            SubscriptionOrder.objects.filter(subscription=subscription, shipment_date=shipment_date)
            .exclude(status=SubscriptionOrder.Status.CANCELLED)
            .exists()
        )
        if not already:  # staff may have created that date's order by hand already
            exchanges = list(
                Exchange.objects.select_for_update()
                .filter(member_id=subscription.member_id, status=Exchange.Status.PLACED, ship_now=False)
                .filter(order__isnull=True)
                .order_by("pk")
            )
            reward_lines = [
                SubscriptionOrderLine(
                    member_id=subscription.member_id,
                    product_id=line.product_id,
                    quantity=line.quantity,
                    unit_price_incl_tax=0,
                    tax_rate=line.tax_rate,
                    unit_pv=Decimal("0"),
                    is_reward=True,
                )
                for exchange in exchanges
                for line in exchange.lines.order_by("pk")
            ]
            order = order_create(
                subscription=subscription,
                shipment_date=shipment_date,
                extra_lines=reward_lines,
                extra_charge_incl_tax=sum(exchange.charge_incl_tax for exchange in exchanges),
            )
            Exchange.objects.filter(pk__in=[exchange.pk for exchange in exchanges]).update(order=order)
        Subscription.objects.filter(pk=subscription.pk).update(next_shipment_date=next_date, updated_at=timezone.now())
    return order
