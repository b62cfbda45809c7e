"""Every write of the exchange app: placing, cancelling, shipping and requesting exchanges."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from functools import partial

from django.db import transaction
from django.utils import timezone

from exchange.exceptions import InvalidLine, NotCancellable, NotShippable, PaymentMethodNeedsStaff, QuoteChanged
from exchange.models import Exchange, ExchangeLine, ExchangeRequest, ExchangeTaxLine
from exchange.quotes import Quote, quote_build, reward_lines_clean
from exchange.tasks import exchange_email_enqueue
from ssr_points.exceptions import InsufficientPoints, NegativeBalance
from ssr_points.selectors import points_available
from ssr_points.services import points_account_lock, points_redeem, points_reverse
from subscriptions.models import Member
from subscriptions.selectors import member_with_market

NUMBER_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def exchange_number_new() -> str:
    return "EX-" + "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(8))


def exchange_place(
    *,
    member: Member,
    lines,
    ship_now: bool,
    idempotency_key: uuid.UUID,
    expected_fingerprint: str | None = None,
    staff_user=None,
    now: dt.datetime | None = None,
) -> Exchange:
    """Place an exchange: quote again, redeem its points and record it, in one transaction.

    ``lines`` are (reward product or id, quantity). A second call with the same
    ``idempotency_key`` returns the first exchange (double tap, retry, two tabs). When
    ``expected_fingerprint`` (the confirmation the member saw) no longer matches the fresh
    quote, ``QuoteChanged`` carries the new quote instead of a silently different charge.
    Card members place their own; ``staff_user`` places for any member (CX, on behalf).
    """
    now = now or timezone.now()
    # Fresh: the market's fees and catalogue version, the subscription (read in the transaction).
    member = member_with_market(member_id=member.pk)
    with transaction.atomic():
        account = points_account_lock(member=member)
        placed = Exchange.objects.filter(member_id=member.pk, idempotency_key=idempotency_key).first()
        if placed is not None:
            return placed
        if staff_user is None and not member.pays_by_card:
            raise PaymentMethodNeedsStaff()
        quote = quote_build(member=member, lines=lines, ship_now=ship_now, at=now)
        if expected_fingerprint is not None and expected_fingerprint != quote.fingerprint:
            raise QuoteChanged(quote=quote)
        if account.debt > 0:
            raise NegativeBalance(debt=account.debt)
        if quote.points > quote.available_points:
            raise InsufficientPoints(requested=quote.points, available=max(quote.available_points, 0))
        number = exchange_number_new()
        redemption = points_redeem(
            member=member,
            points=quote.points,
            reference=number,
            reason=f"ポイント交換 {number}",
            idempotency_key=f"exchange:{idempotency_key}",
            staff_user=staff_user,
            now=now,
            account=account,
        )
        exchange = Exchange.objects.create(
            member=member,
            number=number,
            ship_now=ship_now,
            idempotency_key=idempotency_key,
            redemption=redemption,
            placed_by=staff_user,
            created_at=now,
            **exchange_figures(quote),
        )
        _lines_create(exchange=exchange, quote=quote)
        # The member's 受付 email, once the exchange is committed (never for a repeat above).
        transaction.on_commit(partial(exchange_email_enqueue, exchange.pk, "placed"), robust=True)
    return exchange


def _lines_create(*, exchange: Exchange, quote: Quote) -> None:
    """Record the exchange's reward lines and the quote's tax per rate (the qualified invoice's
    breakdown).

    The tax lines must add up to the exchange's tax and total; if they did not, the transaction
    is rolled back rather than an invoice recorded that contradicts itself.
    """
    tax_lines = quote.tax_lines
    if sum(line.tax for line in tax_lines) != exchange.tax:
        raise ValueError(f"exchange {exchange.number}: the tax by rate does not add up to the tax {exchange.tax}")
    if sum(line.amount_incl_tax for line in tax_lines) != exchange.total:
        raise ValueError(f"exchange {exchange.number}: the amounts by rate do not add up to the total {exchange.total}")
    ExchangeLine.objects.bulk_create(
        ExchangeLine(
            member_id=exchange.member_id,
            exchange=exchange,
            product=line.product,
            quantity=line.quantity,
            unit_points=line.product.point_cost,
            tax_rate=line.product.tax_rate,
        )
        for line in quote.reward_lines
    )
    ExchangeTaxLine.objects.bulk_create(
        ExchangeTaxLine(
            member_id=exchange.member_id,
            exchange=exchange,
            rate=line.rate,
            amount_incl_tax=line.amount_incl_tax,
            tax=line.tax,
        )
        for line in tax_lines
    )


def exchange_figures(quote: Quote) -> dict:
    return {
        "points": quote.points,
        "fee_units": quote.fee_units,
        "exchange_fee_excl_tax": quote.exchange_fee_excl_tax,
        "handling_fee_excl_tax": quote.handling_fee_excl_tax,
        "subtotal_excl_tax": quote.subtotal_excl_tax,
        "tax": quote.tax,
        "total": quote.total,
        "pv": quote.pv,
        "charge_incl_tax": quote.charge_incl_tax,
    }


def exchange_cancel(
    *, exchange: Exchange, staff_user=None, reason: str = "", now: dt.datetime | None = None
) -> Exchange:
    """Cancel an exchange that has not shipped nor joined a subscription order: points go back
    to the lots they came from. Cancelling an already cancelled exchange changes nothing."""
    now = now or timezone.now()
    with transaction.atomic():
        points_account_lock(member=exchange.member)
        exchange = Exchange.objects.select_for_update().get(pk=exchange.pk)
        if exchange.status == Exchange.Status.CANCELLED:
            return exchange
        if not exchange.is_cancellable:
            raise NotCancellable(number=exchange.number)
        exchange.reversal = points_reverse(
            entry=exchange.redemption,
            reason=(reason or "").strip() or f"ポイント交換 {exchange.number} のキャンセル",
            reference=exchange.number,
            staff_user=staff_user,
            now=now,
        )
        exchange.status = Exchange.Status.CANCELLED
        exchange.cancelled_at = now
        exchange.save(update_fields=["reversal", "status", "cancelled_at"])
        transaction.on_commit(partial(exchange_email_enqueue, exchange.pk, "cancelled"), robust=True)
    return exchange


def exchange_mark_shipped(*, exchange: Exchange, now: dt.datetime | None = None) -> Exchange:
    """Fulfilment shipped an exchange (apply now, or with its subscription order)."""
    now = now or timezone.now()
    with transaction.atomic():
        exchange = Exchange.objects.select_for_update().get(pk=exchange.pk)
        if exchange.status == Exchange.Status.PLACED:
            exchange.status = Exchange.Status.SHIPPED
            exchange.shipped_at = now
            exchange.save(update_fields=["status", "shipped_at"])
        elif exchange.status == Exchange.Status.CANCELLED:
            raise NotShippable(number=exchange.number)
    return exchange


def exchange_request_create(*, member: Member, message: str = "", contact_phone: str = "", lines=()) -> ExchangeRequest:
    """A bank-transfer / direct-debit member asks Customer Experience to exchange for them: the
    rewards and quantities picked from the catalogue (``lines``: (product or id, quantity)), a
    message, or both. The lines are checked as the wizard checks them — exchangeable in the
    member's market, 1..99 each (``InvalidLine``), within the points available now
    (``InsufficientPoints``, ``NegativeBalance``) — and recorded as they stand: name, quantity
    and points, so Customer Experience sees what the member saw."""
    chosen = reward_lines_clean(member=member, lines=lines) if lines else []
    if chosen:
        available = points_available(member=member)
        if available < 0:
            raise NegativeBalance(debt=-available)
        requested = sum(product.point_cost * quantity for product, quantity in chosen)
        if requested > available:
            raise InsufficientPoints(requested=requested, available=available)
    elif not message.strip():
        raise InvalidLine(message=InvalidLine.empty_message)
    recorded = [
        {
            "product_id": product.pk,
            "sku": product.sku,
            "name": product.name_ja,
            "quantity": quantity,
            "points": product.point_cost * quantity,
        }
        for product, quantity in chosen
    ]
    return ExchangeRequest.objects.create(
        member=member, message=message.strip()[:2000], contact_phone=contact_phone.strip()[:30], lines=recorded
    )


def exchange_request_handle(
    *, exchange_request: ExchangeRequest, status: str, staff_user, exchange: Exchange | None = None
) -> ExchangeRequest:
    """Customer Experience moves a member's request through the queue (in progress, done, closed),
    recording who handled it and, when done, the exchange placed for it."""
    if status not in ExchangeRequest.Status.values:
        raise ValueError(f"unknown status {status!r}")
    if exchange is not None and exchange.member_id != exchange_request.member_id:
        raise ValueError("the exchange belongs to another member")
    with transaction.atomic():
        exchange_request = ExchangeRequest.objects.select_for_update().get(pk=exchange_request.pk)
        exchange_request.status = status
        exchange_request.handled_by = staff_user
        if exchange is not None:
            exchange_request.exchange = exchange
        exchange_request.save(update_fields=["status", "handled_by", "exchange", "updated_at"])
    return exchange_request
