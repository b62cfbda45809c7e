"""Reads of the points ledger shared by views, admin and tasks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import DateTimeField, ExpressionWrapper, F, Min, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import TruncMonth
from django.utils import timezone

from ssr_points.earning import points_for_pv
from ssr_points.models import Allocation, Entry, Lot, PointAccount
from subscriptions.models import Market, Member, Subscription, SubscriptionItem
from subscriptions.selectors import subscription_active
from subscriptions.services import shipment_date_next


@dataclass(frozen=True)
class Spendable:
    """The member's spendable lots, soonest-expiring first, and their clawback debt."""

    lots: list[Lot]
    debt: int

    @property
    def available(self) -> int:
        """Points the member can use now; negative when the debt is larger than the lots."""
        return sum(lot.remaining for lot in self.lots) - self.debt


def points_spendable(*, member: Member, at: dt.datetime | None = None) -> Spendable:
    """The lots unexpired at ``at`` (default now) and the debt, in one query.

    The debt rides along on each lot row; only a member without an open lot costs a second
    query for it. A lot whose expiry instant has passed never counts, even before the
    nightly job ran.
    """
    debt = PointAccount.objects.filter(member_id=OuterRef("member_id")).values("debt")[:1]
    lots = list(
        Lot.objects.filter(member_id=member.pk)
        .spendable(at=at or timezone.now())
        .fifo()
        .annotate(account_debt=Subquery(debt))
    )
    return Spendable(lots=lots, debt=(lots[0].account_debt or 0) if lots else points_debt(member=member))


def points_available(*, member: Member, at: dt.datetime | None = None) -> int:
    """What is left of lots unexpired at ``at`` (default now), less any clawback debt.

    Negative when the member owes points from a returned order.
    """
    return points_spendable(member=member, at=at).available


def points_debt(*, member: Member) -> int:
    """Points the member owes from returned orders (repaid first by incoming points)."""
    return PointAccount.objects.filter(member_id=member.pk).values_list("debt", flat=True).first() or 0


def redemptions_by_lot(
    *, member_id: int, redemptions: QuerySet[Entry] | list[Entry], given_back_since: dt.datetime | None = None
) -> list[tuple[Lot, int]]:
    """The lots ``redemptions`` took points from, soonest-expiring first, each with the points the
    redemptions still hold of it — or, with ``given_back_since``, the points their reversals made
    at or after that instant gave back to it (what a cancellation returned). Lots with none are left
    out. Two queries, whatever the number of redemptions.

    Each reversal gave back from the lots its redemption still held, the last taken first
    (``points_reverse``): replaying the reversals' points over what the redemptions took gives each
    lot's share exactly. A reversal's own allocation rows cannot say it: when incoming points
    repaid a debt from the same lot, its row for that lot is net of the repayment."""
    taken: dict[int, list[list]] = {}  # redemption id → [lot, points held], FIFO
    for allocation in (
        Allocation.objects.filter(member_id=member_id, entry__in=redemptions, points__gt=0)
        .select_related("lot")
        .order_by("lot__expires_at", "lot_id")
    ):
        taken.setdefault(allocation.entry_id, []).append([allocation.lot, allocation.points])
    reversals = Entry.objects.filter(member_id=member_id, kind=Entry.Kind.REVERSAL, reverses_id__in=list(taken))
    given: dict[Lot, int] = {}
    for redemption_id, points, created_at in reversals.order_by("pk").values_list(
        "reverses_id", "points", "created_at"
    ):
        for held in reversed(taken[redemption_id]):
            back = min(held[1], points)
            held[1] -= back
            points -= back
            if back and given_back_since is not None and created_at >= given_back_since:
                given[held[0]] = given.get(held[0], 0) + back
    if given_back_since is None:
        for lots in taken.values():
            for lot, points in lots:
                given[lot] = given.get(lot, 0) + points
    return sorted(
        ((lot, points) for lot, points in given.items() if points > 0),
        key=lambda pair: (pair[0].expires_at, pair[0].pk),
    )


def lots_open(*, member: Member, at: dt.datetime | None = None) -> QuerySet[Lot]:
    """Spendable lots, soonest-expiring first (the order redemptions consume them in)."""
    return Lot.objects.filter(member_id=member.pk).spendable(at=at or timezone.now()).fifo()


# The member's history filters (獲得 / 利用 / 失効): which entries each one shows.
HISTORY_FILTERS: dict[str, Q] = {
    "earned": Q(kind=Entry.Kind.GRANT) | Q(kind=Entry.Kind.ADJUSTMENT, points__gt=0),
    "used": Q(kind__in=[Entry.Kind.REDEMPTION, Entry.Kind.REVERSAL, Entry.Kind.CLAWBACK])
    | Q(kind=Entry.Kind.ADJUSTMENT, points__lt=0),
    "expired": Q(kind=Entry.Kind.EXPIRY),
}


# -- the member's home: expiring soon, earn progress ----------------------------------------------

EXPIRING_SOON_DAYS = 60


@dataclass(frozen=True)
class ExpiringSoon:
    """Spendable points whose expiry falls within ``EXPIRING_SOON_DAYS``: how many, and the
    soonest expiry (members read its last valid day)."""

    points: int
    soonest_expires_at: dt.datetime
    lots: list[Lot]


def points_expiring_soon(*, lots: list[Lot], at: dt.datetime, days: int = EXPIRING_SOON_DAYS) -> ExpiringSoon | None:
    """From the spendable lots already read (``points_spendable``): no query."""
    soon = [lot for lot in lots if at < lot.expires_at <= at + dt.timedelta(days=days) and lot.remaining > 0]
    if not soon:
        return None
    return ExpiringSoon(
        points=sum(lot.remaining for lot in soon), soonest_expires_at=min(lot.expires_at for lot in soon), lots=soon
    )


@dataclass(frozen=True)
class EarnProgress:
    """Where the member stands on the earn-rate schedule (docs/rules.md §1, "Earning")."""

    subscription: Subscription | None
    months_subscribed: int
    current_rate: int
    next_order_month: int
    next_order_rate: int
    next_order_pv: object  # Decimal
    next_order_points: int
    next_shipment_date: dt.date | None
    next_step_rate: int | None
    next_step_month: int | None
    next_step_starts_on: dt.date | None

    @property
    def next_step_is_next_order(self) -> bool:
        return self.next_step_month == self.next_order_month


def earn_progress(*, member: Member) -> EarnProgress:
    """Months subscribed, the current rate, the next order's rate and points, and the next
    higher rate with the shipment it starts with. One query: the active subscription with its
    items' quantities and PV (a second only for a subscription without items)."""
    market = member.market
    items = list(
        SubscriptionItem.objects.filter(member_id=member.pk, subscription__status=Subscription.Status.ACTIVE)
        .select_related("subscription", "product")
        .order_by("pk")
    )
    subscription = items[0].subscription if items else subscription_active(member=member)
    pv = sum((item.product.pv * item.quantity for item in items), start=Decimal("0"))
    months = subscription.months_subscribed if subscription else 0
    current_rate = market.earn_rate_percent(max(months, 1))
    next_month = months + 1
    next_rate = market.earn_rate_percent(next_month)
    step = next(
        (
            (from_month, percent)
            for from_month, percent in market.earn_rate_schedule
            if from_month > months and percent != current_rate
        ),
        None,
    )
    starts_on = None
    if step and subscription:
        starts_on = subscription.next_shipment_date
        for _ in range(step[0] - next_month):
            starts_on = shipment_date_next(starts_on)
    return EarnProgress(
        subscription=subscription,
        months_subscribed=months,
        current_rate=current_rate,
        next_order_month=next_month,
        next_order_rate=next_rate,
        next_order_pv=pv,
        next_order_points=points_for_pv(pv=pv, percent=next_rate) if items else 0,
        next_shipment_date=subscription.next_shipment_date if subscription else None,
        next_step_rate=step[1] if step else None,
        next_step_month=step[0] if step else None,
        next_step_starts_on=starts_on,
    )


def entries_history(*, member: Member, show: str | None = None) -> QuerySet[Entry]:
    """The member's entries, newest first, each with its lot (``Entry.member_reason`` reads it);
    ``show`` one of ``HISTORY_FILTERS`` (else all)."""
    entries = Entry.objects.filter(member_id=member.pk)
    if show in HISTORY_FILTERS:
        entries = entries.filter(HISTORY_FILTERS[show])
    return entries.select_related("lot").order_by("-created_at", "-id")


# -- finance report (docs/admin.md): one grouped query per table, no loop over rows -------------


@dataclass(frozen=True)
class OutstandingRow:
    market: Market
    points: int

    @property
    def value(self) -> int:
        """What the outstanding points are worth, in the market currency's minor unit."""
        return self.points * self.market.point_value


@dataclass(frozen=True)
class MonthPoints:
    month: dt.date
    points: int
    soonest_expires_at: dt.datetime | None = None  # the month's first expiry instant (show its last valid day)


@dataclass(frozen=True)
class MonthMovements:
    month: dt.date
    granted: int
    adjusted: int
    redeemed: int
    expired: int
    clawed_back: int

    @property
    def breakage_rate(self) -> float | None:
        """Share of the points that left the program by expiring rather than being redeemed."""
        settled = self.redeemed + self.expired
        return self.expired / settled if settled > 0 else None


def _month_start(*, at: dt.datetime, zone, shift: int = 0) -> dt.datetime:
    local = timezone.localtime(at, zone)
    months = local.year * 12 + local.month - 1 + shift
    return dt.datetime(months // 12, months % 12 + 1, 1, tzinfo=zone)


def _as_month(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date().replace(day=1)
    return value.replace(day=1)


def report_points_outstanding(*, at: dt.datetime | None = None) -> list[OutstandingRow]:
    """Per market: points members can still spend at ``at`` (unexpired lots) less open clawback debt."""
    at = at or timezone.now()
    left = dict(
        Lot.objects.spendable(at=at)
        .values("member__market_id")
        .annotate(points=Sum("remaining"))
        .values_list("member__market_id", "points")
    )
    debt = dict(
        PointAccount.objects.filter(debt__gt=0)
        .values("member__market_id")
        .annotate(debt=Sum("debt"))
        .values_list("member__market_id", "debt")
    )
    return [
        OutstandingRow(market=market, points=(left.get(market.pk) or 0) - (debt.get(market.pk) or 0))
        for market in Market.objects.order_by("code")
    ]


def report_points_expiring_by_month(
    *, market: Market, at: dt.datetime | None = None, months: int = 12
) -> list[MonthPoints]:
    """Spendable points per month of their last valid day (market time zone), this month and the
    next ``months`` − 1: a lot that expires at 2027-01-01 00:00 is last usable on 31 December, so it
    is December's (docs/rules.md §4; the instant is the exclusive end)."""
    at = at or timezone.now()
    zone = market.zone
    start = _month_start(at=at, zone=zone)
    end = _month_start(at=at, zone=zone, shift=months)
    last_valid_instant = ExpressionWrapper(
        F("expires_at") - Value(dt.timedelta(microseconds=1)), output_field=DateTimeField()
    )
    grouped = (
        # Last valid day before ``end`` ⇔ expires at or before ``end``; spendable ⇒ after ``start``.
        Lot.objects.filter(member__market=market, expires_at__lte=end)
        .spendable(at=at)
        .annotate(month=TruncMonth(last_valid_instant, tzinfo=zone))
        .values("month")
        .annotate(points=Sum("remaining"), soonest=Min("expires_at"))
        .values_list("month", "points", "soonest")
    )
    by_month = {_as_month(month): (points, soonest) for month, points, soonest in grouped}
    rows = []
    for i in range(months):
        month = _month_start(at=start, zone=zone, shift=i).date()
        points, soonest = by_month.get(month, (0, None))
        rows.append(MonthPoints(month=month, points=points, soonest_expires_at=soonest))
    return rows
