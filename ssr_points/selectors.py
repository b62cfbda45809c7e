"""Reads of the points ledger shared by views, admin and tasks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import (
    Count,
    DateTimeField,
    Expression,
    ExpressionWrapper,
    F,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import TruncMonth
from django.utils import timezone

from ssr_points.earning import points_for_pv
from ssr_points.models import Entry, Lot, PointAccount
from subscriptions.compiled_queries import PLACEHOLDER_AT, PLACEHOLDER_ID, CompiledQuery, Instances
from subscriptions.models import Market, Member, Subscription, SubscriptionItem
from subscriptions.selectors import SUBSCRIPTION_COLUMNS, SUBSCRIPTIONS, subscription_active
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


LOT_COLUMNS = [field.attname for field in Lot._meta.concrete_fields]
LOTS = Instances(Lot, LOT_COLUMNS)


def _spendable_lots_with_debt(member_id: int, at: dt.datetime) -> QuerySet:
    debt = PointAccount.objects.filter(member_id=OuterRef("member_id")).values("debt")[:1]
    return (
        Lot.objects.filter(member_id=member_id)
        .spendable(at=at)
        .fifo()
        .annotate(account_debt=Subquery(debt))
        .values_list(*LOT_COLUMNS, "account_debt")
    )


# Every wizard page and the home page run it: compiled once per process (subscriptions/compiled_queries.py).
_SPENDABLE = CompiledQuery(_spendable_lots_with_debt, member_id=PLACEHOLDER_ID, at=PLACEHOLDER_AT)


def points_spendable(*, member: Member, at: dt.datetime | None = None) -> Spendable:
    """The lots unexpired at ``at`` (default now) and the debt, in one query.

    The debt rides along on each lot row; only a member without an open lot costs a second
    query for it. A lot whose expiry instant has passed never counts, even before the
    nightly job ran.
    """
    rows = _SPENDABLE.rows(member_id=member.pk, at=at or timezone.now())
    lots = LOTS.many(row[:-1] for row in rows)
    return Spendable(lots=lots, debt=(rows[0][-1] or 0) if rows else points_debt(member=member))


def points_available(*, member: Member, at: dt.datetime | None = None) -> int:
    """What is left of lots unexpired at ``at`` (default now), less any clawback debt.

    Negative when the member owes points from a returned order.
    """
    return points_spendable(member=member, at=at).available


def points_debt(*, member: Member) -> int:
    """Points the member owes from returned orders (repaid first by incoming points)."""
    return PointAccount.objects.filter(member_id=member.pk).values_list("debt", flat=True).first() or 0


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


def entries_history(*, member: Member, show: str | None = None) -> QuerySet[Entry]:
    """The member's entries, newest first; ``show`` one of ``HISTORY_FILTERS`` (else all)."""
    entries = Entry.objects.filter(member_id=member.pk)
    if show in HISTORY_FILTERS:
        entries = entries.filter(HISTORY_FILTERS[show])
    return entries.select_related("staff_user").order_by("-created_at", "-id")


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
    """Where the member stands on the earn-rate schedule (domain.md §3, "Points are granted")."""

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


def _active_subscription_items(member_id: int) -> QuerySet:
    items = SubscriptionItem.objects.filter(member_id=member_id, subscription__status=Subscription.Status.ACTIVE)
    subscription = [f"subscription__{column}" for column in SUBSCRIPTION_COLUMNS]
    return items.order_by("pk").values_list(*subscription, "quantity", "product__pv")


# The home page reads it: compiled once per process (subscriptions/compiled_queries.py).
_ACTIVE_SUBSCRIPTION_ITEMS = CompiledQuery(_active_subscription_items, member_id=PLACEHOLDER_ID)


def earn_progress(*, member: Member) -> EarnProgress:
    """Months subscribed, the current rate, the next order's rate and points, and the next
    higher rate with the shipment it starts with. One query: the active subscription with its
    items' quantities and PV (a second only for a subscription without items)."""
    market = member.market
    rows = _ACTIVE_SUBSCRIPTION_ITEMS.rows(member_id=member.pk)
    width = len(SUBSCRIPTION_COLUMNS)
    subscription = SUBSCRIPTIONS.one(rows[0][:width]) if rows else subscription_active(member=member)
    pv = sum((Decimal(row[width + 1]) * row[width] for row in rows), start=Decimal("0"))
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
        next_order_points=points_for_pv(pv=pv, percent=next_rate) if rows else 0,
        next_shipment_date=subscription.next_shipment_date if subscription else None,
        next_step_rate=step[1] if step else None,
        next_step_month=step[0] if step else None,
        next_step_starts_on=starts_on,
    )


HISTORY_PAGE_SIZE = 20
ENTRY_COLUMNS = [field.attname for field in Entry._meta.concrete_fields]
_ENTRIES = Instances(Entry, ENTRY_COLUMNS)
LOT_OF_ENTRY_COLUMNS = [f"lot__{column}" for column in LOT_COLUMNS]


def _history_count(member_id: int) -> QuerySet:
    return Entry.objects.filter(member_id=member_id).values("member_id").annotate(n=Count("pk")).values("n")


# Columns the apps above the ledger add to the member's history, by the name each entry gets: the
# exchange app's products of an exchange (exchange/history.py). Read with the entries, in the same
# query, rather than in one more per app; added when the apps are ready, before the first page is
# compiled.
HISTORY_COLUMNS: dict[str, Expression] = {}


def _history_first_page(member_id: int) -> QuerySet:
    """The first page with the history's length beside each row: one round trip for what
    ``Paginator`` asks first (the count) and then (the page). The count is a subquery that
    PostgreSQL runs once (an InitPlan), from the index alone, whatever the page's rows."""
    entries = Entry.objects.filter(member_id=member_id).order_by("-created_at", "-id")
    total = Subquery(_history_count(member_id))
    columns = [*ENTRY_COLUMNS, *LOT_OF_ENTRY_COLUMNS, *HISTORY_COLUMNS, "total"]
    return entries.annotate(**HISTORY_COLUMNS, total=total).values_list(*columns)[:HISTORY_PAGE_SIZE]


# The home page's: compiled once per process (subscriptions/compiled_queries.py).
_HISTORY_FIRST_PAGE = CompiledQuery(_history_first_page, member_id=PLACEHOLDER_ID)


class EntriesHistory:
    """The member's entries, newest first, each with its lot, for ``Paginator(…, HISTORY_PAGE_SIZE)``:
    the count and the first page (what members open) come from one compiled query, other pages
    and the filters from ``entries_history``. An entry's ``member_reason`` reads its lot,
    loaded with it."""

    def __init__(self, *, member: Member, show: str | None = None):
        self.member = member
        self.show = show if show in HISTORY_FILTERS else None  # a filter: ORM queries, as later pages
        self._first_page: list[tuple] | None = None

    def count(self) -> int:
        if self.show:
            return entries_history(member=self.member, show=self.show).count()
        rows = self._first_page_rows()
        return rows[0][-1] if rows else 0

    def __getitem__(self, index: slice) -> list[Entry]:
        # The first page: ``Paginator`` asks for [0:20], or [0:count] for a shorter history.
        if not self.show and index.start == 0 and index.stop is not None and index.stop <= HISTORY_PAGE_SIZE:
            return self._entries(self._first_page_rows()[: index.stop])
        entries = entries_history(member=self.member, show=self.show).select_related("lot")
        return list(entries.annotate(**HISTORY_COLUMNS)[index])

    def _first_page_rows(self) -> list[tuple]:
        if self._first_page is None:
            self._first_page = _HISTORY_FIRST_PAGE.rows(member_id=self.member.pk)
        return self._first_page

    @staticmethod
    def _entries(rows: list[tuple]) -> list[Entry]:
        """The entries of the first page's rows: each row has the entry's columns, its lot's, the
        added columns and the count."""
        lot_start = len(ENTRY_COLUMNS)
        lot_end = lot_start + len(LOT_COLUMNS)
        entries = _ENTRIES.many(row[:lot_start] for row in rows)
        with_lot = (row for entry, row in zip(entries, rows, strict=True) if entry.lot_id is not None)
        lots = iter(LOTS.many(row[lot_start:lot_end] for row in with_lot))
        for entry, row in zip(entries, rows, strict=True):
            Entry.lot.field.set_cached_value(entry, next(lots) if entry.lot_id is not None else None)
            for name, value in zip(HISTORY_COLUMNS, row[lot_end:-1], strict=True):
                setattr(entry, name, value)
        return entries


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
    is December's (domain.md "How members read it"; the instant is the exclusive end)."""
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


def report_points_movements_by_month(
    *, market: Market, at: dt.datetime | None = None, months: int = 12
) -> list[MonthMovements]:
    """Points granted, adjusted, redeemed (net of reversals), expired and clawed back per month
    (market time zone), the last ``months`` months including the current one, oldest first."""
    at = at or timezone.now()
    zone = market.zone
    start = _month_start(at=at, zone=zone, shift=-(months - 1))
    end = _month_start(at=at, zone=zone, shift=1)
    grouped = (
        Entry.objects.filter(member__market=market, created_at__gte=start, created_at__lt=end)
        .annotate(month=TruncMonth("created_at", tzinfo=zone))
        .values("month", "kind")
        .annotate(points=Sum("points"))
        .values_list("month", "kind", "points")
    )
    sums: dict[tuple[dt.date, str], int] = {}
    for month, kind, points in grouped:  # at most months × kinds rows
        sums[(_as_month(month), kind)] = sums.get((_as_month(month), kind), 0) + points
    rows = []
    for i in range(months):
        month = _month_start(at=start, zone=zone, shift=i).date()
        rows.append(
            MonthMovements(
                month=month,
                granted=sums.get((month, Entry.Kind.GRANT), 0),
                adjusted=sums.get((month, Entry.Kind.ADJUSTMENT), 0),
                redeemed=-(sums.get((month, Entry.Kind.REDEMPTION), 0) + sums.get((month, Entry.Kind.REVERSAL), 0)),
                expired=-sums.get((month, Entry.Kind.EXPIRY), 0),
                clawed_back=-sums.get((month, Entry.Kind.CLAWBACK), 0),
            )
        )
    return rows
