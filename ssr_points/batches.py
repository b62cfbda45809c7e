"""The set-based statements of the nightly jobs: grant every shipped order not yet granted,
record the expiry of every due lot — in committed batches keyed by member, each one short
transaction that locks its members' accounts in member order, like every other writer
(``ssr_points.services``). The jobs (``jobs.services``) drive them and record their runs.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from ssr_points.models import Entry, Lot, PointAccount
from ssr_points.services import (
    EXPIRY_REASON,
    GRANT_KEY_PREFIX,
    GRANT_REASON,
    LOT_LIFETIME_MONTHS,
    points_grant_for_order,
)
from subscriptions.models import Market, Member, SubscriptionOrder

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

    The rules are the per-order service's (``points_grant_for_order``), from the same constants:
    the earn rate of the order's month (each market's schedule), the lot's expiry 12 months after
    the local grant date (``LOT_LIFETIME_MONTHS``; PostgreSQL's month arithmetic clamps to the
    month's end as ``lot_expires_at`` does), the entry's reason and idempotency key
    (``GRANT_REASON``, ``GRANT_KEY_PREFIX``); tests/jobs/test_batches_match_the_services.py
    compares every row both write. Parameters: ``grant_parameters``.

    Members with an open clawback debt are left out (their grant repays the debt first: the
    per-order service does that). Lots are granted when written, not when the order shipped.
    Returns one row (lots, points, members). Idempotent: an order that has its lot already
    conflicts on the unique (member, order) lot index and is skipped —
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
            WHERE o.status = %(shipped)s AND ({where})
              AND (SELECT a.debt FROM {account_table} AS a WHERE a.member_id = o.member_id) = 0
        ), due AS (
            SELECT p.id, p.member_id, p.number, p.shipped_at, mk.time_zone,
                   FLOOR(p.pv * {percent} / 100)::bigint AS points
            FROM picked AS p JOIN {Market._meta.db_table} AS mk ON mk.id = p.market_id
        ), lots AS (
            INSERT INTO {lot_table} (member_id, order_id, amount, remaining, expired, granted_at, expires_at)
            SELECT member_id, id, points, points, 0, %(now)s::timestamptz,
                   ((%(now)s::timestamptz AT TIME ZONE time_zone)::date + make_interval(months => %(lifetime)s))
                   AT TIME ZONE time_zone
            FROM due WHERE points > 0
            ON CONFLICT (member_id, order_id) DO NOTHING
            RETURNING id, member_id, order_id, amount
        ), entries AS (
            INSERT INTO {entry_table}
                (member_id, kind, points, created_at, reason, reference, idempotency_key, lot_id, order_id)
            SELECT lots.member_id, %(grant)s, lots.amount, %(now)s,
                   %(reason_before)s || o.number || %(reason_after)s, o.number,
                   %(key_prefix)s || o.id, lots.id, lots.order_id
            FROM lots JOIN {order_table} AS o ON o.id = lots.order_id
        ), per_member AS (
            SELECT member_id, SUM(amount) AS points FROM lots GROUP BY member_id
        ), balances AS (
            UPDATE {account_table} AS account
            SET balance = account.balance + per_member.points, updated_at = %(written)s
            FROM per_member WHERE account.member_id = per_member.member_id
        )
        SELECT (SELECT COUNT(*) FROM lots), (SELECT COALESCE(SUM(points), 0) FROM per_member),
               (SELECT COUNT(*) FROM per_member)
    """


def grant_parameters(*, now: dt.datetime, **where) -> dict:
    """``grant_statement``'s parameters: ``where``'s by name, and the rules' constants."""
    reason_before, reason_after = GRANT_REASON.split("{number}")
    return {
        **where,
        "shipped": str(SubscriptionOrder.Status.SHIPPED),
        "grant": str(Entry.Kind.GRANT),
        "now": now,
        "lifetime": LOT_LIFETIME_MONTHS,
        "reason_before": reason_before,
        "reason_after": reason_after,
        "key_prefix": GRANT_KEY_PREFIX,
        "written": timezone.now(),  # the account's updated_at: when the row is written, as auto_now
    }


def points_grant_orders_batch(
    *,
    order_ids: Sequence[int],
    member_ids: Iterable[int] | None = None,
    statement: str | None = None,
    now: dt.datetime | None = None,
) -> tuple[int, int, int, float]:
    """Grant the given shipped orders set-based (PostgreSQL): one short transaction that locks
    their members' accounts in member order, then grants in one statement. Orders of members
    in debt go through ``points_grant_for_order`` one by one afterwards. ``member_ids`` (the
    orders' members) and ``statement`` (``grant_statement(where="o.id = ANY(%(ids)s)")``) save a
    query each when the caller has them. The lots are granted ``now`` (default: the moment the
    batch's transaction starts; tests pass a clock), whenever the orders shipped. Returns
    (lots, points, members, seconds the locks were held)."""
    if not order_ids:
        return 0, 0, 0, 0.0
    ids = list(order_ids)
    if member_ids is None:
        member_ids = SubscriptionOrder.objects.filter(pk__in=ids).values_list("member_id", flat=True)
    member_ids = sorted(set(member_ids))
    statement = statement or grant_statement(where="o.id = ANY(%(ids)s)")
    started = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        now = now or timezone.now()
        cursor.execute(
            f"SELECT member_id, debt FROM {PointAccount._meta.db_table} WHERE member_id = ANY(%s) "
            f"ORDER BY member_id FOR UPDATE",
            [member_ids],
        )
        indebted = [member_id for member_id, debt in cursor.fetchall() if debt > 0]
        cursor.execute(statement, grant_parameters(now=now, ids=ids))
        lots, points, members = cursor.fetchone()
    seconds = time.monotonic() - started
    if indebted:
        orders = SubscriptionOrder.objects.filter(
            pk__in=ids, member_id__in=indebted, status=SubscriptionOrder.Status.SHIPPED
        ).filter(~Exists(Lot.objects.filter(member_id=OuterRef("member_id"), order_id=OuterRef("pk"))))
        for order in orders:
            lot = points_grant_for_order(order=order, now=now)
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
            statement = statement or grant_statement(where="o.id = ANY(%(ids)s)")
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


def points_expire_batch(
    *, at: dt.datetime, after_member_id: int, batch_size: int, now: dt.datetime | None = None
) -> ExpiryBatch | None:
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
    # The batch's member range, also on the rows each statement locks or updates: it lets
    # PostgreSQL find them by index instead of reading the whole table once per batch.
    members_range = [after_member_id, upto]
    started = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        # The writer's clock (docs/ledger.md): now, or the moment a replay of history sets.
        now = connection.ops.adapt_datetimefield_value(now or timezone.now())
        written = connection.ops.adapt_datetimefield_value(timezone.now())  # accounts' updated_at, as auto_now
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        cursor.execute(
            f"SELECT member_id FROM {account_table} WHERE member_id > %s AND member_id <= %s AND member_id IN "
            f"(SELECT member_id FROM {lot_table} WHERE {in_batch}) ORDER BY member_id{lock}",
            [*members_range, *params],
        )
        members = len(cursor.fetchall())
        if connection.vendor == "postgresql":
            kind = str(Entry.Kind.EXPIRY)
            cursor.execute(
                _expire_statement(where=in_batch),
                [*params, *members_range, kind, now, EXPIRY_REASON, written, *members_range],
            )
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
                [written, *params],
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

    Parameters: those of ``where``; the batch's member range (after, up to and including) of
    the lots; entry kind, entry created_at, reason, account updated_at; the member range again,
    of the accounts. The ranges repeat what ``where`` selects, on the rows the two UPDATEs
    write: without them PostgreSQL joins by reading the whole lot and account tables once per
    batch (a hash join), with them it reads the batch's rows by index.
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
            FROM due WHERE lot.id = due.id AND lot.member_id > %s AND lot.member_id <= %s
            RETURNING lot.id, lot.member_id, due.remaining
        ), entries AS (
            INSERT INTO {entry_table} (member_id, kind, points, created_at, reason, reference, lot_id)
            SELECT member_id, %s, -remaining, %s, %s, '', id FROM emptied
        ), per_member AS (
            SELECT member_id, SUM(remaining) AS points FROM emptied GROUP BY member_id
        ), balances AS (
            UPDATE {account_table} AS account
            SET balance = account.balance - per_member.points, updated_at = %s
            FROM per_member
            WHERE account.member_id = per_member.member_id AND account.member_id > %s AND account.member_id <= %s
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


def points_expire_due(
    *, at: dt.datetime | None = None, batch_size: int | None = None, progress=None, now: dt.datetime | None = None
) -> ExpiryResult:
    """Record the expiry of every lot whose expiry instant is at or before ``at`` (default: now).

    Committed batches keyed by member id; a crash between batches loses nothing, and a rerun
    picks up what is left. ``progress`` is called with each ``ExpiryBatch``. ``now`` is the
    writer's clock the entries are dated with (default: the real now; the demo data's replay).
    """
    at = at or timezone.now()
    most = batch_size or settings.SSR_POINTS_EXPIRY_BATCH_SIZE
    batch_size = batch_size_first(most)
    totals = {"lots": 0, "points": 0, "members": 0, "batches": 0, "longest_batch_seconds": 0.0}
    after = 0
    while (batch := points_expire_batch(at=at, after_member_id=after, batch_size=batch_size, now=now)) is not None:
        after = batch.last_member_id
        batch_size = batch_size_next(batch_size, rows=batch.lots, seconds=batch.seconds, most=most)
        _totals_add(totals, batch)
        if progress is not None:
            progress(batch)
    return ExpiryResult(**totals)
