"""Every write of the exchange app: placing, cancelling, shipping and requesting exchanges."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from functools import partial

from django.db import transaction
from django.utils import timezone

from exchange.exceptions import (
    BoxChanged,
    BoxClosed,
    CloseReasonRequired,
    InvalidLine,
    NotCancellable,
    NotShippable,
    PaymentMethodNeedsStaff,
    QuoteChanged,
)
from exchange.models import Exchange, ExchangeChange, ExchangeLine, ExchangeRequest, ExchangeTaxLine
from exchange.quotes import Quote, cancel_last_day, quote_build, reward_lines_clean
from exchange.selectors import box_of, exchange_redemptions
from exchange.tasks import exchange_email_enqueue, exchange_request_email_enqueue
from ssr_points.exceptions import InsufficientPoints, NegativeBalance
from ssr_points.selectors import points_available
from ssr_points.services import points_account_lock, points_redeem, points_reverse, redemption_points_held
from subscriptions.models import Member, Product
from subscriptions.selectors import member_with_market
from subscriptions.templatetags.ssr_format import day_text

NUMBER_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


ADDING = object()  # ``exchange_place(box_revision=…)`` left out: the lines are added to the box


def exchange_number_new() -> str:
    return "EX-" + "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(8))


def exchange_place(
    *,
    member: Member,
    lines,
    ship_now: bool,
    idempotency_key: uuid.UUID,
    expected_fingerprint: str | None = None,
    box_revision: int | object | None = ADDING,
    staff_user=None,
    now: dt.datetime | None = None,
) -> Exchange:
    """Place an exchange, or change the member's box, in one transaction; quotes afresh.

    ``lines`` are (reward product or id, quantity). Apply now (``ship_now``): a new exchange of
    them, its own shipment. Bundled, they go into the member's box for the next subscription
    shipment (a new box when there is none); only the difference in points is redeemed, or
    returned to the lots it came from (docs/member-site.md, "One box"):
    - ``box_revision`` left out (``ADDING``: CX placing for a member, the demo data): ``lines`` are
      added to the box;
    - ``box_revision`` given (the wizard: the box's revision its confirmation showed, None for no
      box yet): ``lines`` are the whole box as it is to stand; another revision means the box
      changed meanwhile (another tab, CX): ``BoxChanged``, nothing placed.
    After the cut-off (the day before the shipment) the box is closed: ``BoxClosed``.

    A second call with the same ``idempotency_key`` returns the exchange it placed or changed
    (double tap, retry, two tabs). When ``expected_fingerprint`` (the confirmation the member saw)
    no longer matches the fresh quote, ``QuoteChanged`` carries the new quote instead of a silently
    different charge. Card members place their own; ``staff_user`` places for any member (CX).
    """
    now = now or timezone.now()
    # Fresh: the market's fees and catalogue version, the subscription (read in the transaction).
    member = member_with_market(member_id=member.pk)
    with transaction.atomic():
        account = points_account_lock(member=member)  # every change of the member's points and boxes waits here
        done = ExchangeChange.objects.filter(member_id=member.pk, idempotency_key=idempotency_key).first()
        if done is not None:
            return done.exchange
        if staff_user is None and not member.pays_by_card:
            raise PaymentMethodNeedsStaff()
        box = None if ship_now else box_of(member=member)
        if box_revision is ADDING:
            lines = lines_added(box, lines)
        elif not ship_now and (box.revision if box else None) != box_revision:
            raise BoxChanged()
        quote = quote_build(member=member, lines=lines, ship_now=ship_now, at=now, box=box)
        if not ship_now:
            box_open_check(shipment_date=quote.next_shipment_date, zone=member.market.zone, now=now)
        if expected_fingerprint is not None and expected_fingerprint != quote.fingerprint:
            raise QuoteChanged(quote=quote)
        if quote.points_delta > 0 and account.debt > 0:
            raise NegativeBalance(debt=account.debt)
        if quote.points_delta > quote.available_points:
            raise InsufficientPoints(requested=quote.points_delta, available=max(quote.available_points, 0))
        if box is not None:
            exchange = _box_change(
                box=box, quote=quote, key=idempotency_key, staff_user=staff_user, now=now, account=account
            )
        else:
            exchange = _exchange_new(
                member=member, quote=quote, key=idempotency_key, staff_user=staff_user, now=now, account=account
            )
    return exchange


def lines_added(box, lines) -> list[tuple[int, int]]:
    """``lines`` added to the box's rewards: (product id, quantity), quantities summed."""
    quantities = dict(box.quantities) if box is not None else {}
    for product, quantity in lines:
        product_id = product.pk if isinstance(product, Product) else product
        if isinstance(quantity, int) and not isinstance(quantity, bool):
            quantities[product_id] = quantities.get(product_id, 0) + quantity
        else:
            quantities[product_id] = quantity  # refused by the quote with its message
    return list(quantities.items())


def box_open_check(*, shipment_date: dt.date | None, zone, now: dt.datetime) -> None:
    """A box can be placed or changed until the last day before its shipment (``cancel_last_day``),
    in the market's time zone; ``BoxClosed`` after."""
    last_day = cancel_last_day(shipment_date)
    if last_day is not None and timezone.localtime(now, zone).date() > last_day:
        raise BoxClosed(shipment=day_text(shipment_date), last_day=day_text(last_day))


def _exchange_new(*, member, quote: Quote, key, staff_user, now, account) -> Exchange:
    number = exchange_number_new()
    redemption = points_redeem(
        member=member,
        points=quote.points,
        reference=number,
        reason=f"ポイント交換 {number}",
        idempotency_key=f"exchange:{key}",
        staff_user=staff_user,
        now=now,
        account=account,
    )
    exchange = Exchange.objects.create(
        member=member,
        number=number,
        ship_now=quote.ship_now,
        idempotency_key=key,
        redemption=redemption,
        placed_by=staff_user,
        created_at=now,
        **exchange_figures(quote),
    )
    _lines_create(exchange=exchange, quote=quote)
    _change_record(
        exchange=exchange,
        kind=ExchangeChange.Kind.PLACED,
        points_before=0,
        key=key,
        staff_user=staff_user,
        now=now,
        quote=quote,
    )
    # The member's 受付 email, once the exchange is committed (never for a repeat).
    transaction.on_commit(partial(exchange_email_enqueue, exchange.pk, "placed"), robust=True)
    return exchange


def _box_change(*, box, quote: Quote, key, staff_user, now, account) -> Exchange:
    """The box becomes ``quote``'s lines: the points added are redeemed, the points taken out go
    back to the lots the box's redemptions took them from, the latest first."""
    exchange = Exchange.objects.select_for_update().get(pk=box.exchange.pk)
    delta = quote.points_delta
    if delta > 0:
        points_redeem(
            member=exchange.member,
            points=delta,
            reference=exchange.number,
            reason=f"ポイント交換 {exchange.number} の変更",
            idempotency_key=f"exchange:{key}",
            staff_user=staff_user,
            now=now,
            account=account,
        )
    elif delta < 0:
        _box_points_return(
            exchange=exchange,
            points=-delta,
            reason=f"ポイント交換 {exchange.number} の変更",
            key=key,
            staff_user=staff_user,
            now=now,
        )
    points_before = exchange.points
    for name, value in exchange_figures(quote).items():
        setattr(exchange, name, value)
    exchange.revision += 1
    exchange.changed_at = now
    exchange.save(update_fields=[*exchange_figures(quote), "revision", "changed_at"])
    ExchangeLine.objects.filter(member_id=exchange.member_id, exchange=exchange).delete()
    ExchangeTaxLine.objects.filter(member_id=exchange.member_id, exchange=exchange).delete()
    _lines_create(exchange=exchange, quote=quote)
    _change_record(
        exchange=exchange,
        kind=ExchangeChange.Kind.CHANGED,
        points_before=points_before,
        key=key,
        staff_user=staff_user,
        now=now,
        quote=quote,
    )
    # The 受付 email of the box as it now stands, once committed.
    transaction.on_commit(partial(exchange_email_enqueue, exchange.pk, "changed"), robust=True)
    return exchange


def _box_points_return(*, exchange: Exchange, points: int, reason: str, key, staff_user, now) -> list:
    """Return ``points`` of the exchange's redemptions, the latest redemption first."""
    reversals = []
    redemptions = exchange_redemptions(exchange=exchange).order_by("-created_at", "-pk")
    for redemption in redemptions:
        if points <= 0:
            break
        back = min(redemption_points_held(entry=redemption), points)
        if back:
            reversals.append(
                points_reverse(
                    entry=redemption,
                    points=back,
                    reason=reason,
                    reference=exchange.number,
                    staff_user=staff_user,
                    idempotency_key=f"exchange-return:{key}:{redemption.pk}" if key else None,
                    now=now,
                )
            )
            points -= back
    if points:
        raise ValueError(f"exchange {exchange.number}: its redemptions hold {points} points fewer than it")
    return reversals


def _change_record(
    *, exchange: Exchange, kind: str, points_before: int, key, staff_user, now, quote: Quote | None = None
) -> ExchangeChange:
    """The receipt of one change: the exchange's figures as they now stand and ``quote``'s reward
    lines (none after a cancellation)."""
    cancelled = kind == ExchangeChange.Kind.CANCELLED
    lines = [
        {
            "sku": line.product.sku,
            "name_ja": line.product.name_ja,
            "name_en": line.product.name_en,
            "quantity": line.quantity,
            "unit_points": line.product.point_cost,
        }
        for line in (quote.reward_lines if quote is not None and not cancelled else ())
    ]
    figures = {name: 0 if cancelled else getattr(exchange, name) for name in CHANGE_FIGURES}
    return ExchangeChange.objects.create(
        member_id=exchange.member_id,
        exchange=exchange,
        revision=exchange.revision,
        kind=kind,
        created_at=now,
        staff_user=staff_user,
        idempotency_key=key,
        points_before=points_before,
        lines=lines,
        **figures,
    )


CHANGE_FIGURES = (
    "points",
    "fee_units",
    "exchange_fee_excl_tax",
    "handling_fee_excl_tax",
    "tax",
    "total",
    "charge_incl_tax",
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
    """Cancel an exchange (a whole box) that has not shipped nor joined a subscription order: all
    its points go back to the lots they came from. Cancelling an already cancelled exchange changes
    nothing."""
    now = now or timezone.now()
    with transaction.atomic():
        points_account_lock(member=exchange.member)
        exchange = Exchange.objects.select_for_update().get(pk=exchange.pk)
        if exchange.status == Exchange.Status.CANCELLED:
            return exchange
        if not exchange.is_cancellable:
            raise NotCancellable(number=exchange.number)
        reversals = _box_points_return(
            exchange=exchange,
            points=exchange.points,
            reason=(reason or "").strip() or f"ポイント交換 {exchange.number} のキャンセル",
            key=None,
            staff_user=staff_user,
            now=now,
        )
        exchange.reversal = reversals[-1]
        exchange.status = Exchange.Status.CANCELLED
        exchange.cancelled_at = now
        exchange.revision += 1
        exchange.save(update_fields=["reversal", "status", "cancelled_at", "revision"])
        _change_record(
            exchange=exchange,
            kind=ExchangeChange.Kind.CANCELLED,
            points_before=exchange.points,
            key=None,
            staff_user=staff_user,
            now=now,
        )
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
