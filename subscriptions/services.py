"""Writes for members, products, subscriptions and subscription orders."""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

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


def product_save(*, product: Product) -> Product:
    """Save a new or changed product; the database moves its market's catalogue version, so
    every process reads the market's products again (subscriptions/catalogue.py)."""
    product.save()
    return product


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
    """A member with a login (username = member number); the ledger opens their point account on first use."""
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


# -- subscription runs -----------------------------------------------------------------------


def shipment_date_next(date: dt.date) -> dt.date:
    """The same day next month, clamped to the month's end (31 Jan → 28/29 Feb)."""
    year, month = (date.year + 1, 1) if date.month == 12 else (date.year, date.month + 1)
    return date.replace(year=year, month=month, day=min(date.day, calendar.monthrange(year, month)[1]))
