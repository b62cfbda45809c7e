"""Every write to the points ledger.

Each service is one transaction that first locks the member's ``PointAccount`` row, then
the member's lots in FIFO order; every writer takes the locks in that order, so a member's
writes are serialised and cannot deadlock. Services validate before they write: a refused
request raises a ``PointsError`` and leaves the ledger unchanged.
"""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
import time
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, Sum
from django.utils import timezone

from ssr_points.exceptions import (
    AdjustmentAboveLimit,
    AdjustmentNotPermitted,
    AlreadyReversed,
    IdempotencyConflict,
    InsufficientPoints,
    InvalidPoints,
    NegativeBalance,
    NotReversible,
    OrderNotShipped,
    ReasonRequired,
    StaffUserRequired,
)
from ssr_points.models import Allocation, Entry, Lot, PointAccount
from subscriptions.models import Market, Member, SubscriptionOrder

LOT_LIFETIME_MONTHS = 12


# -- rules ------------------------------------------------------------------------------


def lot_expires_at(*, granted_at: dt.datetime, zone: zoneinfo.ZoneInfo | str) -> dt.datetime:
    """00:00 local time on the local grant date + 12 months, the day clamped to the month's end."""
    if isinstance(zone, str):
        zone = zoneinfo.ZoneInfo(zone)
    granted_on = granted_at.astimezone(zone).date()
    months = granted_on.month - 1 + LOT_LIFETIME_MONTHS
    year, month = granted_on.year + months // 12, months % 12 + 1
    day = min(granted_on.day, calendar.monthrange(year, month)[1])
    return dt.datetime(year, month, day, tzinfo=zone)


def order_points_to_grant(*, order: SubscriptionOrder) -> int:
    """floor(order PV × earn rate of the order's consecutive month)."""
    percent = order.member.market.earn_rate_percent(order.months_subscribed)
    return int((Decimal(order.pv) * percent / 100).to_integral_value(rounding=ROUND_FLOOR))


def _check_points(points) -> int:
    if isinstance(points, bool) or not isinstance(points, int):
        raise InvalidPoints()
    if points <= 0:
        raise InvalidPoints()
    return points


def _check_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired()
    return reason[:300]


# -- locking and the moves every service shares ---------------------------------------------


def _account_for_update(member_id: int) -> PointAccount:
    """Lock the member's account row (creating it on first use). Always the first lock."""
    try:
        return PointAccount.objects.select_for_update().get(member_id=member_id)
    except PointAccount.DoesNotExist:
        pass
    try:
        with transaction.atomic():
            PointAccount.objects.create(member_id=member_id)
    except IntegrityError:
        pass  # created meanwhile by a concurrent writer
    return PointAccount.objects.select_for_update().get(member_id=member_id)


def points_account_lock(*, member: Member) -> PointAccount:
    """Lock the member's point account for the rest of the caller's transaction.

    For services outside the ledger (placing an exchange) that must check and write under
    the same lock as the redemption they make.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("points_account_lock must be called inside transaction.atomic()")
    return _account_for_update(member.pk)


def _spendable_lots_for_update(member_id: int, *, at: dt.datetime, exclude_lot_id: int | None = None) -> list[Lot]:
    lots = Lot.objects.select_for_update().filter(member_id=member_id).spendable(at=at).fifo()
    if exclude_lot_id is not None:
        lots = lots.exclude(pk=exclude_lot_id)
    return list(lots)


def _take_fifo(lots: Sequence[Lot], points: int) -> dict[Lot, int]:
    """Take ``points`` from ``lots`` (already FIFO), soonest-expiring first; returns lot → taken."""
    taken: dict[Lot, int] = {}
    left = points
    for lot in lots:
        if left == 0:
            break
        take = min(lot.remaining, left)
        if take:
            lot.remaining -= take
            taken[lot] = take
            left -= take
    return taken


def _record_allocations(*, entry: Entry, moves: dict[Lot, int]) -> None:
    """Persist lot changes and the allocation rows that explain them (+ taken, − given back)."""
    moves = {lot: points for lot, points in moves.items() if points}
    if not moves:
        return
    Lot.objects.bulk_update(list(moves), ["remaining"])
    Allocation.objects.bulk_create(
        Allocation(member_id=entry.member_id, entry=entry, lot=lot, points=points) for lot, points in moves.items()
    )


def _repay_debt(account: PointAccount, lots: Iterable[Lot], moves: dict[Lot, int]) -> None:
    """Points coming in pay off a clawback debt first (domain.md: later grants pay off first)."""
    if account.debt <= 0:
        return
    for lot in lots:
        repay = min(account.debt, lot.remaining)
        if repay:
            lot.remaining -= repay
            moves[lot] = moves.get(lot, 0) + repay
            account.debt -= repay
        if account.debt == 0:
            break


def _credit_new_lot(
    *,
    account: PointAccount,
    member: Member,
    points: int,
    granted_at: dt.datetime,
    kind: str,
    reason: str,
    reference: str = "",
    order: SubscriptionOrder | None = None,
    staff_user=None,
    idempotency_key: str | None = None,
    now: dt.datetime,
) -> Lot:
    lot = Lot.objects.create(
        member=member,
        order=order,
        amount=points,
        remaining=points,
        granted_at=granted_at,
        expires_at=lot_expires_at(granted_at=granted_at, zone=member.market.time_zone),
    )
    entry = Entry.objects.create(
        member=member,
        kind=kind,
        points=points,
        created_at=now,
        reason=reason,
        reference=reference,
        lot=lot,
        order=order,
        staff_user=staff_user,
        idempotency_key=idempotency_key,
    )
    moves: dict[Lot, int] = {}
    _repay_debt(account, [lot], moves)
    _record_allocations(entry=entry, moves=moves)
    account.balance += points
    account.save(update_fields=["balance", "debt", "updated_at"])
    return lot


# -- grants -------------------------------------------------------------------------------


def points_grant_for_order(*, order: SubscriptionOrder, now: dt.datetime | None = None) -> Lot | None:
    """Grant the points a shipped subscription order earns. Idempotent per order.

    Returns the order's lot (the existing one when it was already granted), or ``None`` when
    the order earns no points.
    """
    now = now or timezone.now()
    order = SubscriptionOrder.objects.select_related("member__market").get(pk=order.pk)
    with transaction.atomic():
        account = _account_for_update(order.member_id)
        existing = Lot.objects.filter(member_id=order.member_id, order=order).first()
        if existing is not None:
            return existing
        order.refresh_from_db(fields=["status", "shipped_at"])
        if order.status != SubscriptionOrder.Status.SHIPPED:
            raise OrderNotShipped(number=order.number)
        points = order_points_to_grant(order=order)
        if points <= 0:
            return None
        return _credit_new_lot(
            account=account,
            member=order.member,
            points=points,
            granted_at=order.shipped_at,
            kind=Entry.Kind.GRANT,
            reason=f"定期購入 注文 {order.number} の出荷による付与",
            reference=order.number,
            order=order,
            idempotency_key=f"grant:order:{order.pk}",
            now=now,
        )


# -- redemptions and reversals ----------------------------------------------------------------


def points_redeem(
    *,
    member: Member,
    points: int,
    reference: str,
    reason: str,
    idempotency_key: str | None = None,
    staff_user=None,
    now: dt.datetime | None = None,
) -> Entry:
    """Redeem ``points`` FIFO by expiry, all or nothing, never beyond the available balance.

    With an ``idempotency_key`` a repeated call returns the first redemption.
    """
    _check_points(points)
    reason = _check_reason(reason)
    now = now or timezone.now()
    with transaction.atomic():
        account = _account_for_update(member.pk)
        if idempotency_key:
            existing = Entry.objects.filter(member_id=member.pk, idempotency_key=idempotency_key).first()
            if existing is not None:
                if existing.kind != Entry.Kind.REDEMPTION or existing.points != -points:
                    raise IdempotencyConflict()
                return existing
        if account.debt > 0:
            raise NegativeBalance(debt=account.debt)
        lots = _spendable_lots_for_update(member.pk, at=now)
        available = sum(lot.remaining for lot in lots)
        if points > available:
            raise InsufficientPoints(requested=points, available=available)
        entry = Entry.objects.create(
            member_id=member.pk,
            kind=Entry.Kind.REDEMPTION,
            points=-points,
            created_at=now,
            reason=reason,
            reference=reference,
            idempotency_key=idempotency_key,
            staff_user=staff_user,
        )
        _record_allocations(entry=entry, moves=_take_fifo(lots, points))
        account.balance -= points
        account.save(update_fields=["balance", "updated_at"])
        return entry


def points_reverse(
    *, entry: Entry, reason: str, staff_user=None, reference: str = "", now: dt.datetime | None = None
) -> Entry:
    """Put a redemption's points back into the lots it took them from, with their original expiry.

    A lot already past its expiry gets its points back all the same; they are not spendable and
    the next expiry run records them as expired.
    """
    reason = _check_reason(reason)
    now = now or timezone.now()
    with transaction.atomic():
        account = _account_for_update(entry.member_id)
        entry = Entry.objects.get(pk=entry.pk)
        if entry.kind != Entry.Kind.REDEMPTION:
            raise NotReversible()
        if Entry.objects.filter(member_id=entry.member_id, kind=Entry.Kind.REVERSAL, reverses=entry).exists():
            raise AlreadyReversed()
        taken = dict(entry.allocations.values_list("lot_id", "points"))
        lots = list(Lot.objects.select_for_update().filter(member_id=entry.member_id, pk__in=taken).fifo())
        reversal = Entry.objects.create(
            member_id=entry.member_id,
            kind=Entry.Kind.REVERSAL,
            points=-entry.points,
            created_at=now,
            reason=reason,
            reference=reference or entry.reference,
            reverses=entry,
            staff_user=staff_user,
        )
        moves: dict[Lot, int] = {}
        for lot in lots:
            lot.remaining += taken[lot.pk]
            moves[lot] = -taken[lot.pk]
        _repay_debt(account, [lot for lot in lots if lot.expires_at > now], moves)
        _record_allocations(entry=reversal, moves=moves)
        account.balance += reversal.points
        account.save(update_fields=["balance", "debt", "updated_at"])
        return reversal


# -- returns -------------------------------------------------------------------------------


def points_claw_back_order(
    *, order: SubscriptionOrder, reason: str = "", staff_user=None, now: dt.datetime | None = None
) -> Entry | None:
    """Take back what a returned order granted, even months later. Idempotent per order.

    What is left of the order's lot is removed; what was already spent is taken from the
    member's other spendable lots (FIFO), and what they cannot cover becomes a documented
    debt that later incoming points repay first. Points of the lot that already expired are
    not taken twice. Returns the clawback entry, or ``None`` when there was nothing to take.
    """
    now = now or timezone.now()
    with transaction.atomic():
        account = _account_for_update(order.member_id)
        key = f"clawback:order:{order.pk}"
        existing = Entry.objects.filter(member_id=order.member_id, idempotency_key=key).first()
        if existing is not None:
            return existing
        lot = Lot.objects.select_for_update().filter(member_id=order.member_id, order=order).first()
        if lot is None:
            return None
        take_back = lot.amount - lot.expired
        if take_back <= 0:
            return None
        moves = {lot: lot.remaining}
        spent = take_back - lot.remaining
        lot.remaining = 0
        others = _spendable_lots_for_update(order.member_id, at=now, exclude_lot_id=lot.pk)
        covered = _take_fifo(others, spent)
        moves.update(covered)
        uncovered = spent - sum(covered.values())
        entry = Entry.objects.create(
            member_id=order.member_id,
            kind=Entry.Kind.CLAWBACK,
            points=-take_back,
            created_at=now,
            reason=(reason or "").strip()[:300] or f"注文 {order.number} の返品によるポイント取消",
            reference=order.number,
            order=order,
            lot=lot,
            idempotency_key=key,
            staff_user=staff_user,
        )
        _record_allocations(entry=entry, moves=moves)
        account.balance -= take_back
        account.debt += uncovered
        account.save(update_fields=["balance", "debt", "updated_at"])
        return entry


# -- staff adjustments ------------------------------------------------------------------------


def points_adjust_by_staff(
    *,
    member: Member,
    points: int,
    reason: str,
    staff_user,
    idempotency_key: str | None = None,
    now: dt.datetime | None = None,
) -> Entry:
    """``points_adjust`` within the staff user's authority (the admin's and any staff tool's entry point).

    ``ssr_points.adjust_points`` allows up to ``SSR_CX_ADJUSTMENT_LIMIT`` points either way;
    above it the user needs ``ssr_points.adjust_points_unlimited`` (CX supervisors).
    """
    if staff_user is None or not getattr(staff_user, "pk", None):
        raise StaffUserRequired()
    if not staff_user.has_perm("ssr_points.adjust_points"):
        raise AdjustmentNotPermitted()
    limit = settings.SSR_CX_ADJUSTMENT_LIMIT
    if (
        isinstance(points, int)
        and abs(points) > limit
        and not staff_user.has_perm("ssr_points.adjust_points_unlimited")
    ):
        raise AdjustmentAboveLimit(limit=limit, requested=abs(points))
    return points_adjust(
        member=member,
        points=points,
        reason=reason,
        staff_user=staff_user,
        idempotency_key=idempotency_key,
        now=now,
    )


def points_adjust(
    *,
    member: Member,
    points: int,
    reason: str,
    staff_user,
    idempotency_key: str | None = None,
    now: dt.datetime | None = None,
) -> Entry:
    """A staff correction: ``points`` > 0 adds a new lot (12-month expiry), < 0 takes FIFO.

    With an ``idempotency_key`` a repeated call (double click, retry) returns the first entry.
    """
    if isinstance(points, bool) or not isinstance(points, int) or points == 0:
        raise InvalidPoints(message=InvalidPoints.default_message)
    reason = _check_reason(reason)
    if staff_user is None or not getattr(staff_user, "pk", None):
        raise StaffUserRequired()
    now = now or timezone.now()
    member = Member.objects.select_related("market").get(pk=member.pk)
    with transaction.atomic():
        account = _account_for_update(member.pk)
        if idempotency_key:
            existing = Entry.objects.filter(member_id=member.pk, idempotency_key=idempotency_key).first()
            if existing is not None:
                if existing.kind != Entry.Kind.ADJUSTMENT or existing.points != points:
                    raise IdempotencyConflict()
                return existing
        if points > 0:
            lot = _credit_new_lot(
                account=account,
                member=member,
                points=points,
                granted_at=now,
                kind=Entry.Kind.ADJUSTMENT,
                reason=reason,
                staff_user=staff_user,
                idempotency_key=idempotency_key,
                now=now,
            )
            return Entry.objects.get(member_id=member.pk, lot=lot, kind=Entry.Kind.ADJUSTMENT)
        lots = _spendable_lots_for_update(member.pk, at=now)
        available = sum(lot.remaining for lot in lots) - account.debt
        if -points > available:
            raise InsufficientPoints(requested=-points, available=max(available, 0))
        entry = Entry.objects.create(
            member_id=member.pk,
            kind=Entry.Kind.ADJUSTMENT,
            points=points,
            created_at=now,
            reason=reason,
            staff_user=staff_user,
            idempotency_key=idempotency_key,
        )
        _record_allocations(entry=entry, moves=_take_fifo(lots, -points))
        account.balance += points
        account.save(update_fields=["balance", "updated_at"])
        return entry


# -- grants in bulk (the sweep) ------------------------------------------------------------------


@dataclass(frozen=True)
class GrantBatch:
    orders: int  # orders looked at
    lots: int  # lots granted
    points: int
    members: int
    seconds: float = 0.0  # how long the batch's transaction held its locks


@dataclass(frozen=True)
class GrantResult:
    orders: int
    lots: int
    points: int
    members: int
    batches: int
    longest_batch_seconds: float = 0.0


def _earn_percent_sql(markets: Iterable) -> str:
    """SQL for the earn rate (%) of ``p.months_subscribed`` in the market ``mk``; from settings data only."""
    cases = []
    for market in markets:
        steps = " ".join(
            f"WHEN p.months_subscribed >= {int(month)} THEN {int(percent)}"
            for month, percent in sorted(market.earn_rate_schedule, reverse=True)
        )
        cases.append(f"WHEN {int(market.pk)} THEN (CASE {steps} ELSE 0 END)")
    return f"(CASE mk.id {' '.join(cases)} ELSE 0 END)" if cases else "0"


def grant_statement(*, where: str) -> str:
    """PostgreSQL: grant every shipped, not yet granted order ``o`` matching ``where``, in one statement.

    Members with an open clawback debt are left out (their grant repays the debt first: the
    per-order service does that). Parameters: those of ``where``, then entry created_at and
    account updated_at. Returns one row (lots, points, members). Idempotent: an order that
    has its lot already conflicts on the unique (member, order) lot index and is skipped —
    no entry, no balance change, as the entries and balances follow the inserted lots only.
    (No ``NOT EXISTS`` on the lot table here: planned while that table is small, it becomes
    a nested loop over a heap this very statement is growing. Member and account are looked
    up per order by primary key, so a batch never hash-joins the whole member table; the
    entries join the inserted lots to their orders by primary key too — joined to the
    ``due`` CTE instead, whose size the planner cannot estimate, it became a nested loop
    of CTE scans, quadratic in the batch size.)
    """
    lot_table = Lot._meta.db_table
    entry_table = Entry._meta.db_table
    account_table = PointAccount._meta.db_table
    order_table = SubscriptionOrder._meta.db_table
    percent = _earn_percent_sql(Market.objects.order_by("pk"))
    return f"""
        WITH picked AS (
            SELECT o.id, o.member_id, o.number, o.shipped_at, o.pv, o.months_subscribed,
                   (SELECT m.market_id FROM {Member._meta.db_table} AS m WHERE m.id = o.member_id) AS market_id
            FROM {order_table} AS o
            WHERE o.status = 'shipped' AND ({where})
              AND (SELECT a.debt FROM {account_table} AS a WHERE a.member_id = o.member_id) = 0
        ), due AS (
            SELECT p.id, p.member_id, p.number, p.shipped_at, mk.time_zone,
                   FLOOR(p.pv * {percent} / 100)::bigint AS points
            FROM picked AS p JOIN {Market._meta.db_table} AS mk ON mk.id = p.market_id
        ), lots AS (
            INSERT INTO {lot_table} (member_id, order_id, amount, remaining, expired, granted_at, expires_at)
            SELECT member_id, id, points, points, 0, shipped_at,
                   ((shipped_at AT TIME ZONE time_zone)::date + interval '12 months') AT TIME ZONE time_zone
            FROM due WHERE points > 0
            ON CONFLICT (member_id, order_id) DO NOTHING
            RETURNING id, member_id, order_id, amount
        ), entries AS (
            INSERT INTO {entry_table}
                (member_id, kind, points, created_at, reason, reference, idempotency_key, lot_id, order_id)
            SELECT lots.member_id, 'grant', lots.amount, %s,
                   '定期購入 注文 ' || o.number || ' の出荷による付与', o.number,
                   'grant:order:' || o.id, lots.id, lots.order_id
            FROM lots JOIN {order_table} AS o ON o.id = lots.order_id
        ), per_member AS (
            SELECT member_id, SUM(amount) AS points FROM lots GROUP BY member_id
        ), balances AS (
            UPDATE {account_table} AS account
            SET balance = account.balance + per_member.points, updated_at = %s
            FROM per_member WHERE account.member_id = per_member.member_id
        )
        SELECT (SELECT COUNT(*) FROM lots), (SELECT COALESCE(SUM(points), 0) FROM per_member),
               (SELECT COUNT(*) FROM per_member)
    """


def points_grant_orders_batch(
    *, order_ids: Sequence[int], member_ids: Iterable[int] | None = None, statement: str | None = None
) -> tuple[int, int, int, float]:
    """Grant the given shipped orders set-based (PostgreSQL): one short transaction that locks
    their members' accounts in member order, then grants in one statement. Orders of members
    in debt go through ``points_grant_for_order`` one by one afterwards. ``member_ids`` (the
    orders' members) and ``statement`` (``grant_statement(where="o.id = ANY(%s)")``) save a
    query each when the caller has them. Returns (lots, points, members, seconds the locks
    were held)."""
    if not order_ids:
        return 0, 0, 0, 0.0
    ids = list(order_ids)
    if member_ids is None:
        member_ids = SubscriptionOrder.objects.filter(pk__in=ids).values_list("member_id", flat=True)
    member_ids = sorted(set(member_ids))
    statement = statement or grant_statement(where="o.id = ANY(%s)")
    started = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        now = timezone.now()
        cursor.execute(
            f"SELECT member_id, debt FROM {PointAccount._meta.db_table} WHERE member_id = ANY(%s) "
            f"ORDER BY member_id FOR UPDATE",
            [member_ids],
        )
        indebted = [member_id for member_id, debt in cursor.fetchall() if debt > 0]
        cursor.execute(statement, [ids, now, now])
        lots, points, members = cursor.fetchone()
    seconds = time.monotonic() - started
    if indebted:
        orders = SubscriptionOrder.objects.filter(
            pk__in=ids, member_id__in=indebted, status=SubscriptionOrder.Status.SHIPPED
        ).filter(~Exists(Lot.objects.filter(member_id=OuterRef("member_id"), order_id=OuterRef("pk"))))
        for order in orders:
            lot = points_grant_for_order(order=order)
            if lot is not None:
                lots, points, members = lots + 1, points + lot.amount, members + 1
    return lots, int(points), members, seconds


def points_grant_shipped_orders(
    *,
    shipped_from: dt.datetime,
    shipped_to: dt.datetime | None = None,
    batch_size: int | None = None,
    progress=None,
) -> GrantResult:
    """Grant every order shipped in [``shipped_from``, ``shipped_to``] that has no grant yet.

    The daily sweep behind the per-order grant task, so a lost message loses no points.
    Orders whose PV earns nothing get no lot; the window keeps them from being looked at
    forever. The candidates come from one streamed query in member order, so a member's
    orders fall into one batch and each account is locked and updated once per sweep; on
    PostgreSQL each batch is one set-based statement, elsewhere ``points_grant_for_order``
    per order. ``progress`` gets each batch.
    """
    shipped_to = shipped_to or timezone.now()
    most = batch_size or settings.SSR_POINTS_GRANT_BATCH_SIZE
    batch_size = batch_size_first(most) if connection.vendor == "postgresql" else most
    totals = {"orders": 0, "lots": 0, "points": 0, "members": 0, "batches": 0, "longest_batch_seconds": 0.0}
    candidates = (
        SubscriptionOrder.objects.filter(
            status=SubscriptionOrder.Status.SHIPPED, shipped_at__gte=shipped_from, shipped_at__lte=shipped_to
        )
        .filter(~Exists(Lot.objects.filter(member_id=OuterRef("member_id"), order_id=OuterRef("pk"))))
        .order_by("member_id", "pk")
        .values_list("pk", "member_id")
        .iterator(chunk_size=most)
    )
    statement = None
    while rows := list(itertools.islice(candidates, batch_size)):
        ids = [pk for pk, _ in rows]
        if connection.vendor == "postgresql":
            statement = statement or grant_statement(where="o.id = ANY(%s)")
            lots, points, members, seconds = points_grant_orders_batch(
                order_ids=ids, member_ids=[member_id for _, member_id in rows], statement=statement
            )
        else:
            lots = points = 0
            granted_members = set()
            started = time.monotonic()
            for order in SubscriptionOrder.objects.filter(pk__in=ids).order_by("member_id", "pk"):
                lot = points_grant_for_order(order=order)
                if lot is not None:
                    lots, points = lots + 1, points + lot.amount
                    granted_members.add(order.member_id)
            members, seconds = len(granted_members), (time.monotonic() - started) / max(len(ids), 1)
        if connection.vendor == "postgresql":
            batch_size = batch_size_next(batch_size, rows=len(ids), seconds=seconds, most=most)
        batch = GrantBatch(
            orders=len(ids),
            lots=lots,
            points=points,
            members=members,
            seconds=seconds,
        )
        _totals_add(totals, batch)
        if progress is not None:
            progress(batch)
    return GrantResult(**totals)


def _totals_add(totals: dict, batch: GrantBatch | ExpiryBatch) -> None:
    """Count a committed batch into its run's totals: its counts, one batch, the longest lock."""
    for name in totals.keys() - {"batches", "longest_batch_seconds"}:
        totals[name] += getattr(batch, name)
    totals["batches"] += 1
    totals["longest_batch_seconds"] = max(totals["longest_batch_seconds"], batch.seconds)


# -- expiry -------------------------------------------------------------------------------------


def batch_size_first(most: int) -> int:
    """Start small (a cold cache, a fresh plan) and let ``batch_size_next`` grow the batches."""
    return min(most, 1000)


def batch_size_next(size: int, *, rows: int, seconds: float, most: int) -> int:
    """Keep each batch's lock time near ``SSR_POINTS_BATCH_LOCK_TARGET_SECONDS`` (well under the
    1 s budget) on a slower or busier database: shrink after a slow batch, grow back to ``most``."""
    target = settings.SSR_POINTS_BATCH_LOCK_TARGET_SECONDS
    if rows <= 0 or seconds <= 0:
        return size
    if seconds > target:
        return max(100, min(size, int(rows * target / seconds)))
    if seconds < target / 2:
        return min(most, int(size * 1.5))
    return size


@dataclass(frozen=True)
class ExpiryBatch:
    lots: int
    points: int
    members: int
    last_member_id: int
    seconds: float = 0.0  # how long the batch's transaction held its locks


EXPIRY_REASON = "有効期限切れ"


def points_expire_batch(*, at: dt.datetime, after_member_id: int, batch_size: int) -> ExpiryBatch | None:
    """Record the expiry of due lots of the next members after ``after_member_id``, set-based.

    Finds the batch's last member first (no locks), then one short transaction: it locks the
    accounts of the members in the batch (in member order, like every other writer), then
    records one expiry entry per lot, lowers the balances and empties the lots — on
    PostgreSQL in a single statement (``UPDATE … RETURNING`` feeding the entry insert and the
    balance update), elsewhere in four. Returns ``None`` when no due lot is left.
    Safe to run twice: a lot whose expiry is recorded has nothing left and is not due again.
    """
    lot_table = Lot._meta.db_table
    entry_table = Entry._meta.db_table
    account_table = PointAccount._meta.db_table
    due = f"{lot_table}.remaining > 0 AND {lot_table}.expires_at <= %s"
    at = connection.ops.adapt_datetimefield_value(at)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT member_id FROM {lot_table} WHERE {due} AND member_id > %s ORDER BY member_id LIMIT 1 OFFSET %s",
            [at, after_member_id, batch_size - 1],
        )
        row = cursor.fetchone()
        if row is None:
            cursor.execute(
                f"SELECT MAX(member_id) FROM {lot_table} WHERE {due} AND member_id > %s", [at, after_member_id]
            )
            row = cursor.fetchone()
            if row is None or row[0] is None:
                return None
    upto = row[0]
    in_batch = f"{due} AND {lot_table}.member_id > %s AND {lot_table}.member_id <= %s"
    params = [at, after_member_id, upto]
    started = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        cursor.execute(
            f"SELECT member_id FROM {account_table} WHERE member_id IN "
            f"(SELECT member_id FROM {lot_table} WHERE {in_batch}) ORDER BY member_id{lock}",
            params,
        )
        members = len(cursor.fetchall())
        if connection.vendor == "postgresql":
            kind = str(Entry.Kind.EXPIRY)
            cursor.execute(_expire_statement(where=in_batch), [*params, kind, now, EXPIRY_REASON, now])
            lots, points, _ = cursor.fetchone()
        else:
            cursor.execute(
                f"INSERT INTO {entry_table} (member_id, kind, points, created_at, reason, reference, lot_id) "
                f"SELECT member_id, %s, -remaining, %s, %s, '', id FROM {lot_table} WHERE {in_batch}",
                [str(Entry.Kind.EXPIRY), now, EXPIRY_REASON, *params],
            )
            lots = cursor.rowcount
            cursor.execute(
                f"UPDATE {account_table} SET balance = {account_table}.balance - due.points, updated_at = %s "
                f"FROM (SELECT member_id, SUM(remaining) AS points FROM {lot_table} WHERE {in_batch} "
                f"GROUP BY member_id) AS due WHERE {account_table}.member_id = due.member_id",
                [now, *params],
            )
            cursor.execute(f"SELECT COALESCE(SUM(remaining), 0) FROM {lot_table} WHERE {in_batch}", params)
            points = cursor.fetchone()[0]
            cursor.execute(
                f"UPDATE {lot_table} SET expired = expired + remaining, remaining = 0 WHERE {in_batch}", params
            )
    return ExpiryBatch(
        lots=lots, points=int(points), members=members, last_member_id=upto, seconds=time.monotonic() - started
    )


def _expire_statement(*, where: str) -> str:
    """PostgreSQL: empty the due lots matching ``where`` and record their expiry, in one statement.

    Parameters: those of ``where``, then entry kind, entry created_at, reason, account updated_at.
    Returns one row (lots, points, members).
    """
    lot_table = Lot._meta.db_table
    entry_table = Entry._meta.db_table
    account_table = PointAccount._meta.db_table
    return f"""
        WITH due AS (
            SELECT id, member_id, remaining FROM {lot_table} WHERE {where}
        ), emptied AS (
            UPDATE {lot_table} AS lot SET expired = lot.expired + due.remaining, remaining = 0
            FROM due WHERE lot.id = due.id
            RETURNING lot.id, lot.member_id, due.remaining
        ), entries AS (
            INSERT INTO {entry_table} (member_id, kind, points, created_at, reason, reference, lot_id)
            SELECT member_id, %s, -remaining, %s, %s, '', id FROM emptied
        ), per_member AS (
            SELECT member_id, SUM(remaining) AS points FROM emptied GROUP BY member_id
        ), balances AS (
            UPDATE {account_table} AS account
            SET balance = account.balance - per_member.points, updated_at = %s
            FROM per_member WHERE account.member_id = per_member.member_id
        )
        SELECT (SELECT COUNT(*) FROM emptied), (SELECT COALESCE(SUM(points), 0) FROM per_member),
               (SELECT COUNT(*) FROM per_member)
    """


@dataclass(frozen=True)
class ExpiryResult:
    lots: int
    points: int
    members: int
    batches: int
    longest_batch_seconds: float = 0.0


def points_expire_due(*, at: dt.datetime | None = None, batch_size: int | None = None, progress=None) -> ExpiryResult:
    """Record the expiry of every lot whose expiry instant is at or before ``at`` (default: now).

    Committed batches keyed by member id; a crash between batches loses nothing, and a rerun
    picks up what is left. ``progress`` is called with each ``ExpiryBatch``.
    """
    at = at or timezone.now()
    most = batch_size or settings.SSR_POINTS_EXPIRY_BATCH_SIZE
    batch_size = batch_size_first(most)
    totals = {"lots": 0, "points": 0, "members": 0, "batches": 0, "longest_batch_seconds": 0.0}
    after = 0
    while (batch := points_expire_batch(at=at, after_member_id=after, batch_size=batch_size)) is not None:
        after = batch.last_member_id
        batch_size = batch_size_next(batch_size, rows=batch.lots, seconds=batch.seconds, most=most)
        _totals_add(totals, batch)
        if progress is not None:
            progress(batch)
    return ExpiryResult(**totals)


# -- invariants ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Violation:
    member_id: int
    rule: str
    expected: int
    actual: int
    lot_id: int | None = None

    def __str__(self) -> str:
        where = f" lot {self.lot_id}" if self.lot_id else ""
        return f"member {self.member_id}{where}: {self.rule} (expected {self.expected}, found {self.actual})"


def ledger_check(
    *, member_ids: Iterable[int] | None = None, at: dt.datetime | None = None, chunk_size: int = 5000
) -> list[Violation]:
    """Check the ledger's invariants for the given members (default: all); return every violation.

    - account.balance = Σ entries = Σ lot.remaining − account.debt
    - for each lot: remaining = amount − Σ allocations − expired
    - no spendable lot (at ``at``, default now) while the account carries a debt
    """
    at = at or timezone.now()
    violations: list[Violation] = []
    if member_ids is not None:
        ids = sorted(set(member_ids))
        for start in range(0, len(ids), chunk_size):
            violations.extend(_ledger_check_chunk(ids[start : start + chunk_size], at=at))
        return violations
    last = 0
    while chunk := list(Member.objects.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:chunk_size]):
        violations.extend(_ledger_check_chunk(chunk, at=at))
        last = chunk[-1]
    return violations


def _ledger_check_chunk(member_ids: list[int], *, at: dt.datetime) -> list[Violation]:
    """The chunk's queries read one snapshot: on PostgreSQL a read-only REPEATABLE READ
    transaction (it takes no locks and is never refused), so an exchange committed between two
    of them cannot look like a violation on a live database. Inside a caller's transaction,
    that transaction's isolation applies."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return _ledger_check_chunk_read(member_ids, at=at)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        return _ledger_check_chunk_read(member_ids, at=at)


def _ledger_check_chunk_read(member_ids: list[int], *, at: dt.datetime) -> list[Violation]:
    violations = []
    accounts = {a.member_id: a for a in PointAccount.objects.filter(member_id__in=member_ids).only("balance", "debt")}
    entry_sums = dict(
        Entry.objects.filter(member_id__in=member_ids)
        .values("member_id")
        .annotate(s=Sum("points"))
        .values_list("member_id", "s")
    )
    lot_sums = dict(
        Lot.objects.filter(member_id__in=member_ids)
        .values("member_id")
        .annotate(s=Sum("remaining"))
        .values_list("member_id", "s")
    )
    for member_id in member_ids:
        account = accounts.get(member_id)
        balance = account.balance if account else 0
        debt = account.debt if account else 0
        entries = entry_sums.get(member_id) or 0
        lots = (lot_sums.get(member_id) or 0) - debt
        if entries != balance:
            violations.append(Violation(member_id, "balance = Σ entries", entries, balance))
        if lots != balance:
            violations.append(Violation(member_id, "balance = Σ lot.remaining − debt", lots, balance))
    allocated = (
        Lot.objects.filter(member_id__in=member_ids)
        .annotate(allocated=Sum("allocations__points", default=0))
        .exclude(remaining=F("amount") - F("allocated") - F("expired"))
        .values_list("member_id", "pk", "amount", "allocated", "expired", "remaining")
    )
    for member_id, lot_id, amount, allocated_points, expired, remaining in allocated:
        violations.append(
            Violation(
                member_id,
                "lot.remaining = amount − Σ allocations − expired",
                amount - allocated_points - expired,
                remaining,
                lot_id,
            )
        )
    indebted = (
        PointAccount.objects.filter(member_id__in=member_ids, debt__gt=0)
        .annotate(
            open_lots=Count("member__lots", filter=Q(member__lots__remaining__gt=0, member__lots__expires_at__gt=at))
        )
        .filter(open_lots__gt=0)
    )
    for account in indebted:
        violations.append(Violation(account.member_id, "no points left in lots while in debt", 0, account.open_lots))
    return violations
