"""The quote engine: every figure of an exchange, computed once, on the server.

docs/rules.md §2: exchange fee = ceil(points / 100) × fee per 100 points (excl. tax, standard
rate); the handling fee (shipping) is waived only when bundled with a subscription order of
at least the free-handling threshold (tax included); consumption tax is rounded once per
rate per order: tax of rate r = floor(tax-included total of that rate × r / (100 + r)).
The confirmation page, the placed exchange and the admin all show what ``quote_build``
returned.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone

from exchange.exceptions import InvalidLine, NoActiveSubscription
from ssr_points.models import Lot
from ssr_points.selectors import points_spendable
from subscriptions.catalogue import catalogue_products, products_of
from subscriptions.models import MAX_QUANTITY, Market, Member, Product, Subscription, SubscriptionItem

POINTS_PER_FEE_UNIT = 100


@dataclass(frozen=True)
class QuoteLine:
    product: Product
    quantity: int
    is_reward: bool

    @property
    def unit_price_incl_tax(self) -> int:
        return 0 if self.is_reward else self.product.price_incl_tax

    @property
    def price_incl_tax(self) -> int:
        return self.unit_price_incl_tax * self.quantity

    @property
    def points(self) -> int:
        return (self.product.point_cost or 0) * self.quantity if self.is_reward else 0

    @property
    def pv(self) -> Decimal:
        return Decimal("0") if self.is_reward else self.product.pv * self.quantity


@dataclass(frozen=True)
class TaxLine:
    """The tax of one rate (qualified invoice): the tax-included amount at ``rate`` and the
    tax inside it, rounded down once for the whole order."""

    rate: int
    amount_incl_tax: int
    tax: int

    @property
    def amount_excl_tax(self) -> int:
        return self.amount_incl_tax - self.tax


@dataclass(frozen=True)
class LotUse:
    lot: Lot
    points: int


@dataclass(frozen=True)
class Quote:
    market: Market
    ship_now: bool
    lines: tuple[QuoteLine, ...]
    points: int
    fee_units: int
    exchange_fee_excl_tax: int
    exchange_fee_incl_tax: int
    merchandise_incl_tax: int
    handling_fee_waived: bool
    handling_fee_excl_tax: int
    handling_fee_incl_tax: int
    subtotal_excl_tax: int
    tax_lines: tuple[TaxLine, ...]
    tax: int
    total: int
    pv: Decimal
    available_points: int
    lot_uses: tuple[LotUse, ...] = field(default=())
    # Bundled: the date of the subscription order the rewards ship with (None: apply now).
    next_shipment_date: dt.date | None = None
    # Bundled, with a box already placed: the points it holds now and its revision; ``points`` is
    # the box as it would stand, and only the difference is redeemed or returned.
    points_before: int = 0
    box_revision: int | None = None

    @property
    def cancel_last_day(self) -> dt.date | None:
        """The last day a bundled exchange can be cancelled (``cancel_last_day``)."""
        return cancel_last_day(self.next_shipment_date)

    @property
    def reward_lines(self) -> tuple[QuoteLine, ...]:
        return tuple(line for line in self.lines if line.is_reward)

    @property
    def subscription_lines(self) -> tuple[QuoteLine, ...]:
        return tuple(line for line in self.lines if not line.is_reward)

    @property
    def tax_by_rate(self) -> dict[int, int]:
        return {line.rate: line.tax for line in self.tax_lines}

    @property
    def item_count(self) -> int:
        """Items in the bundle, the subscription's included (the guide's ``3 アイテムs``)."""
        return sum(line.quantity for line in self.lines)

    @property
    def points_to_next_fee_unit(self) -> int:
        """How many more points would still cost the same exchange fee."""
        return self.fee_units * POINTS_PER_FEE_UNIT - self.points

    @property
    def charge_incl_tax(self) -> int:
        """What the exchange itself adds to the member's payment: fee and shipping, tax included."""
        return self.exchange_fee_incl_tax + self.handling_fee_incl_tax

    @property
    def points_delta(self) -> int:
        """Points this quote would redeem (> 0) or return (< 0): the box's change."""
        return self.points - self.points_before

    @property
    def points_after(self) -> int:
        return self.available_points - self.points_delta

    @property
    def is_affordable(self) -> bool:
        return self.points > 0 and self.points_delta <= self.available_points

    @property
    def fingerprint(self) -> str:
        """Changes whenever a figure the member agreed to would change."""
        parts = [
            str(self.ship_now),
            *(f"{line.product.pk}:{line.quantity}:{line.unit_price_incl_tax}:{line.points}" for line in self.lines),
            str(self.points),
            str(self.exchange_fee_excl_tax),
            str(self.handling_fee_excl_tax),
            str(self.tax),
            *(f"{line.rate}:{line.amount_incl_tax}:{line.tax}" for line in self.tax_lines),
            str(self.total),
            str(self.pv),
            f"box:{self.box_revision}:{self.points_before}",
        ]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def cancel_last_day(shipment_date: dt.date | None) -> dt.date | None:
    """A bundled exchange can be cancelled until its subscription order is created, which the
    subscription run does early on the shipment date (01:00, docs/jobs.md): members are told
    the day before it, the last whole day they can cancel."""
    return shipment_date - dt.timedelta(days=1) if shipment_date else None


def tax_included_in(amount_incl_tax: int, rate: int) -> int:
    """The consumption tax inside a tax-included amount, rounded down once."""
    return amount_incl_tax * rate // (100 + rate)


def reward_lines_clean(*, member: Member, lines) -> list[tuple[Product, int]]:
    """Validate (product or id, quantity) pairs for ``member``: merged, exchangeable, 1..99 each."""
    merged: dict[int, int] = defaultdict(int)
    for product, quantity in lines:
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_QUANTITY:
            raise InvalidLine(message=InvalidLine.quantity_message, maximum=MAX_QUANTITY)
        product_id = product.pk if isinstance(product, Product) else product
        merged[product_id] += quantity
    if not merged:
        raise InvalidLine(message=InvalidLine.empty_message)
    products = catalogue_products(member.market, list(merged))
    cleaned = []
    for product_id, quantity in merged.items():
        product = products.get(product_id)
        if product is None or not product.is_exchangeable or product.market_id != member.market_id:
            raise InvalidLine()
        if quantity > MAX_QUANTITY:
            raise InvalidLine(message=InvalidLine.quantity_message, maximum=MAX_QUANTITY)
        cleaned.append((product, quantity))
    return sorted(cleaned, key=lambda pair: pair[0].sku)


def active_subscription_items(*, member: Member) -> list[SubscriptionItem]:
    """The items of the member's active subscription with their subscription (the quote shows its
    next shipment date), in one query, and their products from the market's catalogue
    (subscriptions/catalogue.py); ``NoActiveSubscription`` when there is none or it has no items."""
    items = list(
        SubscriptionItem.objects.filter(member_id=member.pk, subscription__status=Subscription.Status.ACTIVE)
        .select_related("subscription")
        .order_by("pk")
    )
    if not items:
        raise NoActiveSubscription()
    products = products_of(member.market, [item.product_id for item in items])
    for item in items:
        item.product = products[item.product_id]
    return items


def quote_build(
    *,
    member: Member,
    lines,
    ship_now: bool,
    at: dt.datetime | None = None,
    items: list[SubscriptionItem] | None = None,
    box=None,
) -> Quote:
    """Every figure of an exchange of ``lines`` (reward product, quantity) for ``member``.

    Bundled (``ship_now=False``): the subscription's items ship with the rewards, so they
    count in the item count, PV, merchandise total and tax, and the handling fee is waived
    when that subscription order reaches the threshold. Apply now: rewards alone, handling
    fee charged. ``items``: ``active_subscription_items`` as the caller read them for this
    request (a wizard page checks them first); read here otherwise. ``box`` (bundled only): the
    member's open box (``exchange.selectors.Box``): ``lines`` are then the whole box as it would
    stand, its fee counted once over all of it, and the quote says what changes (``points_delta``).
    """
    at = at or timezone.now()
    market = member.market
    if items is None:
        items = active_subscription_items(member=member)
    rewards = [
        QuoteLine(product, quantity, is_reward=True)
        for product, quantity in reward_lines_clean(member=member, lines=lines)
    ]
    subscription_lines = [] if ship_now else [QuoteLine(item.product, item.quantity, is_reward=False) for item in items]
    all_lines = tuple(subscription_lines + rewards)

    points = sum(line.points for line in rewards)
    fee_units = -(-points // POINTS_PER_FEE_UNIT)
    fee_rate = market.standard_tax_rate
    exchange_fee_excl_tax = fee_units * market.exchange_fee_per_100_points
    exchange_fee_incl_tax = exchange_fee_excl_tax + exchange_fee_excl_tax * fee_rate // 100

    merchandise_incl_tax = sum(line.price_incl_tax for line in subscription_lines)
    waived = not ship_now and merchandise_incl_tax >= market.free_handling_threshold_incl_tax
    handling_fee_incl_tax = 0 if waived else market.handling_fee_incl_tax

    incl_by_rate: dict[int, int] = defaultdict(int)
    for line in subscription_lines:
        incl_by_rate[line.product.tax_rate] += line.price_incl_tax
    incl_by_rate[fee_rate] += exchange_fee_incl_tax + handling_fee_incl_tax
    tax_lines = tuple(
        TaxLine(rate, amount, tax_included_in(amount, rate)) for rate, amount in sorted(incl_by_rate.items()) if amount
    )
    tax = sum(line.tax for line in tax_lines)
    handling_fee_excl_tax = handling_fee_incl_tax - tax_included_in(handling_fee_incl_tax, fee_rate)
    total = merchandise_incl_tax + exchange_fee_incl_tax + handling_fee_incl_tax
    # Shipping is shown excl. tax like the other lines; rounding per rate puts any remainder
    # of a cent-less split into the subtotal so that subtotal + shipping + tax = total.
    subtotal_excl_tax = total - tax - handling_fee_excl_tax

    # One read of the open lots serves both the balance and the lots the points come from.
    spendable = points_spendable(member=member, at=at)
    box = None if ship_now else box
    points_before = box.exchange.points if box is not None else 0
    return Quote(
        market=market,
        ship_now=ship_now,
        lines=all_lines,
        points=points,
        fee_units=fee_units,
        exchange_fee_excl_tax=exchange_fee_excl_tax,
        exchange_fee_incl_tax=exchange_fee_incl_tax,
        merchandise_incl_tax=merchandise_incl_tax,
        handling_fee_waived=waived,
        handling_fee_excl_tax=handling_fee_excl_tax,
        handling_fee_incl_tax=handling_fee_incl_tax,
        subtotal_excl_tax=subtotal_excl_tax,
        tax_lines=tax_lines,
        tax=tax,
        total=total,
        pv=sum((line.pv for line in all_lines), Decimal("0")),
        available_points=spendable.available,
        lot_uses=_lot_uses(spendable.lots, points=points - points_before),
        next_shipment_date=None if ship_now else items[0].subscription.next_shipment_date,
        points_before=points_before,
        box_revision=box.revision if box is not None else None,
    )


def _lot_uses(open_lots: list[Lot], *, points: int) -> tuple[LotUse, ...]:
    """The lots (already FIFO by expiry) the points would come from, for the confirmation page."""
    uses = []
    left = points
    for lot in open_lots:
        if left <= 0:
            break
        take = min(lot.remaining, left)
        uses.append(LotUse(lot, take))
        left -= take
    return tuple(uses)
