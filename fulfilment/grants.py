"""Delivering the grants' outbox: write a shipped order's lot and remove its ``PendingGrant``
in one transaction, one order at a time (the task) or set-based in batches (the sweep).

A pending row is removed only together with the grant, or when nothing is owed: the order
earns 0 points, or is no longer shipped (returned or cancelled before its grant). Both paths
lock the member's account first (inside the ledger services) and touch the pending row last,
like ``order_mark_returned``, so they cannot deadlock with each other or with a return.
"""

from __future__ import annotations

import datetime as dt
import time

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q

from fulfilment.models import PendingGrant
from ssr_points.batches import (
    GrantBatch,
    GrantResult,
    batch_size_first,
    batch_size_next,
    grant_statement,
    points_grant_orders_batch,
)
from ssr_points.exceptions import OrderNotShipped
from ssr_points.models import Lot
from ssr_points.services import points_grant_for_order
from subscriptions.models import SubscriptionOrder


def order_grant(*, order: SubscriptionOrder, now: dt.datetime | None = None) -> Lot | None:
    """Grant a shipped order's points and clear its pending grant, in one transaction.

    Idempotent: an order granted already keeps its lot (and its pending row, if any, goes).
    Returns the order's lot, or ``None`` when nothing is owed.
    """
    with transaction.atomic():
        try:
            lot = points_grant_for_order(order=order, now=now)
        except OrderNotShipped:
            lot = None  # returned or cancelled before its grant: nothing is owed
        PendingGrant.objects.filter(member_id=order.member_id, order_id=order.pk).delete()
    return lot


def pending_grants_exist(*, before: dt.datetime) -> bool:
    return PendingGrant.objects.filter(created_at__lte=before).exists()


def pending_grants_deliver(
    *, before: dt.datetime, batch_size: int | None = None, progress=None, now: dt.datetime | None = None
) -> GrantResult:
    """Deliver every pending grant owed since ``before`` or earlier, however old.

    In (member, order) order, in committed batches of up to ``SSR_POINTS_GRANT_BATCH_SIZE``
    orders (adaptive like the other batches): on PostgreSQL one set-based statement per batch
    (``points_grant_orders_batch``: the members' accounts locked in member order, the same lot
    and entry as the per-order service, members in debt one by one), elsewhere the per-order
    service; the batch's pending rows are deleted in the same transaction. ``progress`` gets
    each ``GrantBatch`` (``seconds``: how long the batch's transaction took, commit included).
    ``now`` dates the lots (tests); by default each batch's own clock.
    """
    postgres = connection.vendor == "postgresql"
    most = batch_size or settings.SSR_POINTS_GRANT_BATCH_SIZE
    size = batch_size_first(most) if postgres else most
    totals = {"orders": 0, "lots": 0, "points": 0, "members": 0, "batches": 0, "longest_batch_seconds": 0.0}
    statement = grant_statement(where="o.id = ANY(%(ids)s)") if postgres else None
    after_member, after_order = 0, 0
    pending = PendingGrant.objects.filter(created_at__lte=before).order_by("member_id", "order_id")
    while rows := list(
        pending.filter(Q(member_id__gt=after_member) | Q(member_id=after_member, order_id__gt=after_order)).values_list(
            "order_id", "member_id"
        )[:size]
    ):
        after_order, after_member = rows[-1]
        order_ids = [order_id for order_id, _ in rows]
        member_ids = [member_id for _, member_id in rows]
        started = time.monotonic()
        with transaction.atomic():
            if postgres:
                lots, points, members, _ = points_grant_orders_batch(
                    order_ids=order_ids, member_ids=member_ids, statement=statement, now=now
                )
            else:
                lots = points = 0
                granted = set()
                had_lot = set(Lot.objects.filter(order_id__in=order_ids).values_list("order_id", flat=True))
                for order in SubscriptionOrder.objects.filter(pk__in=order_ids).order_by("member_id", "pk"):
                    lot = order_grant(order=order, now=now)
                    if lot is not None and order.pk not in had_lot:
                        lots, points = lots + 1, points + lot.amount
                        granted.add(order.member_id)
                members = len(granted)
            PendingGrant.objects.filter(member_id__in=set(member_ids), order_id__in=order_ids).delete()
        seconds = time.monotonic() - started
        if postgres:
            size = batch_size_next(size, rows=len(rows), seconds=seconds, most=most)
        batch = GrantBatch(orders=len(rows), lots=lots, points=int(points), members=members, seconds=seconds)
        for name in ("orders", "lots", "points", "members"):
            totals[name] += getattr(batch, name)
        totals["batches"] += 1
        totals["longest_batch_seconds"] = max(totals["longest_batch_seconds"], seconds)
        if progress is not None:
            progress(batch)
    return GrantResult(**totals)
