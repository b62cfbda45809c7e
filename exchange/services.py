"""Every write of the exchange app: placing, cancelling, shipping and requesting exchanges."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from functools import partial

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from exchange.exceptions import (
    CloseReasonRequired,
    NotCancellable,
    NotShippable,
    PaymentMethodNeedsStaff,
    QuoteChanged,
)
from exchange.models import Exchange, ExchangeLine, ExchangeRequest, ExchangeTaxLine
from exchange.quotes import Quote, quote_build
from exchange.tasks import exchange_email_enqueue, exchange_request_email_enqueue
from ssr_points.exceptions import InsufficientPoints, NegativeBalance
from ssr_points.services import points_account_lock, points_redeem, points_reverse
from subscriptions.compiled_queries import PLACEHOLDER_ID, PLACEHOLDER_UUID, CompiledInsert, CompiledQuery, columns
from subscriptions.models import Member
from subscriptions.selectors import member_with_market

NUMBER_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def exchange_number_new() -> str:
    return "EX-" + "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(8))


def _exchange_with_key(member_id: int, key: uuid.UUID) -> QuerySet:
    return Exchange.objects.filter(member_id=member_id, idempotency_key=key).values_list("pk")[:1]


# Every placing runs it: compiled once per process (subscriptions/compiled_queries.py).
_EXCHANGE_WITH_KEY = CompiledQuery(_exchange_with_key, member_id=PLACEHOLDER_ID, key=PLACEHOLDER_UUID)
_EXCHANGE_INSERT = CompiledInsert(Exchange)


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
        placed = _EXCHANGE_WITH_KEY.rows(member_id=member.pk, key=idempotency_key)
        if placed:
            return Exchange.objects.get(pk=placed[0][0])
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
        exchange = _EXCHANGE_INSERT.save(
            Exchange(
                member=member,
                number=number,
                ship_now=ship_now,
                idempotency_key=idempotency_key,
                redemption=redemption,
                placed_by=staff_user,
                created_at=now,
                **exchange_figures(quote),
            )
        )
        _lines_create(exchange=exchange, quote=quote)
        # The member's 受付 email, once the exchange is committed (never for a repeat above).
        transaction.on_commit(partial(exchange_email_enqueue, exchange.pk, "placed"), robust=True)
    return exchange


_LINE_COLUMNS = ("member", "exchange", "product", "quantity", "unit_points", "tax_rate")
_TAX_LINE_COLUMNS = ("member", "exchange", "rate", "amount_incl_tax", "tax")

# The exchange's reward lines and tax lines in one set-based statement whose text is the same for
# any number of lines (PostgreSQL keeps it prepared): ``bulk_create`` built a model and its
# INSERT per call in Python (docs/performance.md). The rows and values are those it wrote.
_LINE_TABLE, _TAX_LINE_TABLE = ExchangeLine._meta.db_table, ExchangeTaxLine._meta.db_table
_LINES_SQL = (
    f"WITH reward_lines AS (INSERT INTO {_LINE_TABLE} ({columns(ExchangeLine, *_LINE_COLUMNS)}) "
    "SELECT %s, %s, * FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[])) "
    f"INSERT INTO {_TAX_LINE_TABLE} ({columns(ExchangeTaxLine, *_TAX_LINE_COLUMNS)}) "
    "SELECT %s, %s, * FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[])"
)


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
    lines = quote.reward_lines
    connection = transaction.get_connection()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                _LINES_SQL,
                [
                    exchange.member_id,
                    exchange.pk,
                    [line.product.pk for line in lines],
                    [line.quantity for line in lines],
                    [line.product.point_cost for line in lines],
                    [line.product.tax_rate for line in lines],
                    exchange.member_id,
                    exchange.pk,
                    [line.rate for line in tax_lines],
                    [line.amount_incl_tax for line in tax_lines],
                    [line.tax for line in tax_lines],
                ],
            )
        return
    ExchangeLine.objects.bulk_create(
        ExchangeLine(
            member_id=exchange.member_id,
            exchange=exchange,
            product=line.product,
            quantity=line.quantity,
            unit_points=line.product.point_cost,
            tax_rate=line.product.tax_rate,
        )
        for line in lines
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


def exchange_request_create(*, member: Member, message: str, contact_phone: str = "") -> ExchangeRequest:
    """A bank-transfer / direct-debit member asks Customer Experience to exchange for them."""
    return ExchangeRequest.objects.create(
        member=member, message=message.strip()[:2000], contact_phone=contact_phone.strip()[:30]
    )


def exchange_request_handle(
    *, exchange_request: ExchangeRequest, status: str, staff_user, exchange: Exchange | None = None, reason: str = ""
) -> ExchangeRequest:
    """Customer Experience moves a member's request through the queue (in progress, done, closed),
    recording who handled it and, when done, the exchange placed for it. Closed without an
    exchange, it needs a ``reason`` for the member, who is emailed it (on commit) and reads it on
    their page."""
    if status not in ExchangeRequest.Status.values:
        raise ValueError(f"unknown status {status!r}")
    if exchange is not None and exchange.member_id != exchange_request.member_id:
        raise ValueError("the exchange belongs to another member")
    reason = (reason or "").strip()[:2000]
    closing = status == ExchangeRequest.Status.CLOSED and exchange is None
    if closing and not reason:
        raise CloseReasonRequired()
    with transaction.atomic():
        exchange_request = ExchangeRequest.objects.select_for_update().get(pk=exchange_request.pk)
        closed_now = closing and exchange_request.status != ExchangeRequest.Status.CLOSED
        exchange_request.status = status
        exchange_request.handled_by = staff_user
        if exchange is not None:
            exchange_request.exchange = exchange
        if closing:
            exchange_request.close_reason = reason
        exchange_request.save(update_fields=["status", "handled_by", "exchange", "close_reason", "updated_at"])
        if closed_now:
            transaction.on_commit(partial(exchange_request_email_enqueue, exchange_request.pk), robust=True)
    return exchange_request
