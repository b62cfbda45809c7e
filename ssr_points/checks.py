"""The whole-ledger check: every invariant of docs/rules.md §1, for any set of members, from one
consistent snapshot. ``check_ledger`` (command), the ledger-check job and every test use it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from ssr_points.models import Entry, Lot, PointAccount
from subscriptions.models import Member

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
    over_returned = (
        Entry.objects.filter(member_id__in=member_ids, kind=Entry.Kind.REDEMPTION)
        .annotate(returned=Sum("reversals__points", filter=Q(reversals__kind=Entry.Kind.REVERSAL), default=0))
        .filter(returned__gt=-F("points"))
        .values_list("member_id", "pk", "points", "returned")
    )
    for member_id, entry_id, points, returned in over_returned:
        violations.append(
            Violation(member_id, f"entry {entry_id}: its reversals ≤ what it redeemed", -points, returned)
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
