"""Writes for members, subscriptions and subscription orders."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from ssr_points.models import PointAccount
from subscriptions.models import (
    Market,
    Member,
    PaymentMethod,
    Product,
    Subscription,
    SubscriptionItem,
    SubscriptionOrder,
    SubscriptionOrderLine,
)


def member_create(
    *,
    market: Market,
    member_number: str,
    name: str,
    email: str,
    password: str | None,
    name_kana: str = "",
    phone: str = "",
    payment_method: str = PaymentMethod.CARD,
) -> Member:
    """A member with a login (username = member number) and an empty point account."""
    with transaction.atomic():
        user = get_user_model().objects.create_user(username=member_number, email=email, password=password)
        member = Member.objects.create(
            user=user,
            member_number=member_number,
            market=market,
            name=name,
            name_kana=name_kana,
            phone=phone,
            payment_method=payment_method,
        )
        PointAccount.objects.create(member=member)
    return member


def subscription_save(
    *, member: Member, items: dict[Product, int], next_shipment_date: dt.date | None = None
) -> Subscription:
    """Create or update the member's active subscription with ``items`` (product → quantity)."""
    with transaction.atomic():
        subscription = (
            Subscription.objects.select_for_update().filter(member=member, status=Subscription.Status.ACTIVE).first()
        )
        if subscription is None:
            subscription = Subscription.objects.create(
                member=member,
                next_shipment_date=next_shipment_date or (timezone.localdate() + dt.timedelta(days=7)),
            )
        elif next_shipment_date is not None:
            subscription.next_shipment_date = next_shipment_date
            subscription.save(update_fields=["next_shipment_date", "updated_at"])
        subscription.items.all().delete()
        SubscriptionItem.objects.bulk_create(
            SubscriptionItem(member=member, subscription=subscription, product=product, quantity=quantity)
            for product, quantity in items.items()
            if quantity > 0
        )
    return subscription


def order_create(
    *,
    subscription: Subscription,
    shipment_date: dt.date,
    number: str | None = None,
    extra_lines: list[SubscriptionOrderLine] | None = None,
    extra_charge_incl_tax: int = 0,
) -> SubscriptionOrder:
    """Turn the subscription's items into an order for ``shipment_date``; months subscribed +1.

    ``extra_charge_incl_tax`` is added to the order total (the fees of bundled exchanges).
    """
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
        items = list(subscription.items.select_related("product").order_by("pk"))
        lines = [
            SubscriptionOrderLine(
                member_id=subscription.member_id,
                product=item.product,
                quantity=item.quantity,
                unit_price_incl_tax=item.product.price_incl_tax,
                tax_rate=item.product.tax_rate,
                unit_pv=item.product.pv,
            )
            for item in items
        ]
        lines += extra_lines or []
        subscription.months_subscribed += 1
        subscription.save(update_fields=["months_subscribed", "updated_at"])
        order = SubscriptionOrder.objects.create(
            member_id=subscription.member_id,
            subscription=subscription,
            number=number or f"SO-{subscription.member_id}-{shipment_date:%Y%m%d}",
            shipment_date=shipment_date,
            months_subscribed=subscription.months_subscribed,
            pv=sum((line.unit_pv * line.quantity for line in lines), Decimal("0")),
            total_incl_tax=sum(line.unit_price_incl_tax * line.quantity for line in lines) + extra_charge_incl_tax,
        )
        for line in lines:
            line.order = order
        SubscriptionOrderLine.objects.bulk_create(lines)
    return order


def order_mark_shipped(*, order: SubscriptionOrder, now: dt.datetime | None = None) -> SubscriptionOrder:
    """Mark an order shipped, with the bundled exchanges it carries; its points are granted
    by a task once this commits."""
    from exchange.models import Exchange
    from exchange.services import exchange_mark_shipped
    from ssr_points.tasks import points_grant_for_order_task

    now = now or timezone.now()
    with transaction.atomic():
        order = SubscriptionOrder.objects.select_for_update().get(pk=order.pk)
        if order.status == SubscriptionOrder.Status.CREATED:
            order.status = SubscriptionOrder.Status.SHIPPED
            order.shipped_at = now
            order.save(update_fields=["status", "shipped_at"])
            for exchange in Exchange.objects.filter(order=order, status=Exchange.Status.PLACED).order_by("pk"):
                exchange_mark_shipped(exchange=exchange, now=now)
            transaction.on_commit(lambda: points_grant_for_order_task.delay(order.pk))
    return order


def orders_mark_shipped(
    *, orders: Iterable[SubscriptionOrder], now: dt.datetime | None = None
) -> list[SubscriptionOrder]:
    """Staff (admin action) or fulfilment mark several orders shipped: one transaction per order,
    so a large selection holds no lock for long; orders already shipped are left as they are."""
    now = now or timezone.now()
    return [order_mark_shipped(order=order, now=now) for order in orders]


# -- subscription runs -----------------------------------------------------------------------


def shipment_date_next(date: dt.date) -> dt.date:
    """The same day next month, clamped to the month's end (31 Jan → 28/29 Feb)."""
    year, month = (date.year + 1, 1) if date.month == 12 else (date.year, date.month + 1)
    return date.replace(year=year, month=month, day=min(date.day, calendar.monthrange(year, month)[1]))


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
    from exchange.models import Exchange
    from ssr_points.services import points_account_lock

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


def order_mark_returned(
    *, order: SubscriptionOrder, staff_user=None, reason: str = "", now: dt.datetime | None = None
) -> SubscriptionOrder:
    """Mark a shipped order returned and take back the points it granted."""
    from ssr_points.services import points_claw_back_order

    now = now or timezone.now()
    with transaction.atomic():
        order = SubscriptionOrder.objects.select_for_update().get(pk=order.pk)
        if order.status == SubscriptionOrder.Status.SHIPPED:
            order.status = SubscriptionOrder.Status.RETURNED
            order.returned_at = now
            order.save(update_fields=["status", "returned_at"])
        if order.status == SubscriptionOrder.Status.RETURNED:
            points_claw_back_order(order=order, reason=reason, staff_user=staff_user, now=now)
    return order
