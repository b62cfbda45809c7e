"""Every write to one member's points ledger.

The member's ledger operations: grant, redeem, reverse, claw back, adjust. Each service is
one transaction that first locks the member's ``PointAccount`` row, then
the member's lots in FIFO order; every writer takes the locks in that order, so a member's
writes are serialised and cannot deadlock. Services validate before they write: a refused
request raises a ``PointsError`` and leaves the ledger unchanged.
"""

from __future__ import annotations

import calendar
import datetime as dt
import zoneinfo
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from ssr_points.earning import points_for_pv
from ssr_points.exceptions import (
    AdjustmentAboveLimit,
    AdjustmentNotPermitted,
    AlreadyReversed,
    DailyAdditionCapReached,
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
from ssr_points.roles import daily_points_added_cap
from ssr_points.selectors import redemptions_by_lot
from subscriptions.models import Member, SubscriptionOrder

LOT_LIFETIME_MONTHS = 12
# A grant's entry: its reason (stored in Japanese; members read it in their language from the
# kind and reference, ``Entry.member_reason``) and the key that makes it once per order. The nightly
# set-based grant (ssr_points/batches.py) writes the same from these.
GRANT_REASON = "定期購入 注文 {number} の出荷による付与"
GRANT_KEY_PREFIX = "grant:order:"


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
    return points_for_pv(pv=order.pv, percent=percent)


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
    account = PointAccount.objects.select_for_update().filter(member_id=member_id).first()
    if account is not None:
        return account
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


def _entry_of_request(member_id: int, key: str) -> Entry | None:
    """The entry an earlier call with the same idempotency key wrote, if any."""
    return Entry.objects.filter(member_id=member_id, idempotency_key=key).order_by("pk").first()


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
    """Points coming in pay off a clawback debt first (docs/rules.md §1: later incoming points repay first)."""
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


EXPIRY_REASON = "有効期限切れ"


def _expire_lot(*, account: PointAccount, lot: Lot, now: dt.datetime) -> Entry:
    """Record the expiry of one due lot now, as the nightly job would (``ssr_points.batches``)."""
    entry = Entry.objects.create(
        member_id=lot.member_id,
        kind=Entry.Kind.EXPIRY,
        points=-lot.remaining,
        created_at=now,
        reason=EXPIRY_REASON,
        lot=lot,
    )
    account.balance -= lot.remaining
    lot.expired += lot.remaining
    lot.remaining = 0
    lot.save(update_fields=["remaining", "expired"])
    account.save(update_fields=["balance", "updated_at"])
    return entry


def points_expire_member(*, member_id: int, at: dt.datetime, now: dt.datetime | None = None) -> list[Entry]:
    """Record the expiry of the member's lots whose expiry instant is at or before ``at``: one
    member at a time, the rule the nightly job applies to every member at once, set-based
    (``ssr_points.batches.points_expire_due``). Safe to run twice."""
    now = now or timezone.now()
    with transaction.atomic():
        account = _account_for_update(member_id)
        due = Lot.objects.select_for_update().filter(member_id=member_id, remaining__gt=0, expires_at__lte=at)
        return [_expire_lot(account=account, lot=lot, now=now) for lot in due.order_by("expires_at", "pk")]


# -- grants -------------------------------------------------------------------------------


def points_grant_for_order(*, order: SubscriptionOrder, now: dt.datetime | None = None) -> Lot | None:
    """Grant the points a shipped subscription order earns. Idempotent per order.

    The lot is granted ``now``, when the ledger records it, and gets its full 12 months from
    then, however long ago the order shipped (docs/ledger.md: facts are dated when written).
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
            granted_at=now,
            kind=Entry.Kind.GRANT,
            reason=GRANT_REASON.format(number=order.number),
            reference=order.number,
            order=order,
            idempotency_key=f"{GRANT_KEY_PREFIX}{order.pk}",
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
    account: PointAccount | None = None,
) -> Entry:
    """Redeem ``points`` FIFO by expiry, all or nothing, never beyond the available balance.

    With an ``idempotency_key`` a repeated call returns the first redemption. ``account``: the
    member's account as ``points_account_lock`` returned it, when the caller's transaction
    already holds its lock (placing an exchange); it is not locked a second time.
    """
    _check_points(points)
    reason = _check_reason(reason)
    now = now or timezone.now()
    if account is not None and (account.member_id != member.pk or not transaction.get_connection().in_atomic_block):
        raise RuntimeError("points_redeem(account=…) takes the member's account locked by the caller's transaction")
    # With the caller's locked account the caller's transaction is the redemption's (no savepoint).
    with transaction.atomic(savepoint=account is None):
        account = account or _account_for_update(member.pk)
        if idempotency_key:
            existing = _entry_of_request(member.pk, idempotency_key)
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
    *,
    entry: Entry,
    reason: str,
    points: int | None = None,
    staff_user=None,
    reference: str = "",
    idempotency_key: str | None = None,
    now: dt.datetime | None = None,
) -> Entry:
    """Put a redemption's points back into the lots it took them from, with their original expiry:
    all that it still holds (``points`` None: a cancellation), or ``points`` of them (a reward
    taken out of a box), given back in the reverse order they were taken — the latest-expiring
    lot first — so what stays redeemed is what FIFO would have taken for the smaller amount.

    A redemption can be reversed in parts, never beyond what it took (``AlreadyReversed``). A lot
    already past its expiry gets its points back all the same; they are not spendable and the
    next expiry run records them as expired. With an ``idempotency_key`` a repeated call returns
    the first reversal.
    """
    reason = _check_reason(reason)
    if points is not None:
        _check_points(points)
    now = now or timezone.now()
    with transaction.atomic():
        account = _account_for_update(entry.member_id)
        if idempotency_key:
            existing = _entry_of_request(entry.member_id, idempotency_key)
            if existing is not None:
                if existing.kind != Entry.Kind.REVERSAL or existing.reverses_id != entry.pk:
                    raise IdempotencyConflict()
                return existing
        entry = Entry.objects.get(pk=entry.pk)
        if entry.kind != Entry.Kind.REDEMPTION:
            raise NotReversible()
        held = _points_held_by_lot(entry)
        holds = redemption_points_held(entry=entry)
        points = holds if points is None else points
        if points <= 0 or points > holds:
            raise AlreadyReversed()
        lots = list(Lot.objects.select_for_update().filter(member_id=entry.member_id, pk__in=held).fifo())
        reversal = Entry.objects.create(
            member_id=entry.member_id,
            kind=Entry.Kind.REVERSAL,
            points=points,
            created_at=now,
            reason=reason,
            reference=reference or entry.reference,
            reverses=entry,
            staff_user=staff_user,
            idempotency_key=idempotency_key,
        )
        moves: dict[Lot, int] = {}
        left = points
        for lot in reversed(lots):  # the last taken first
            back = min(held[lot.pk], left)
            if back:
                lot.remaining += back
                moves[lot] = -back
                left -= back
        _repay_debt(account, [lot for lot in lots if lot.expires_at > now], moves)
        _record_allocations(entry=reversal, moves=moves)
        account.balance += reversal.points
        account.save(update_fields=["balance", "debt", "updated_at"])
        return reversal


def redemption_points_held(*, entry: Entry) -> int:
    """The points a redemption still holds: what it took, less what its reversals gave back."""
    reversals = Entry.objects.filter(member_id=entry.member_id, kind=Entry.Kind.REVERSAL, reverses=entry)
    return -entry.points - (reversals.aggregate(total=Sum("points"))["total"] or 0)


def _points_held_by_lot(entry: Entry) -> dict[int, int]:
    """lot id → the points a redemption still holds from that lot (``redemptions_by_lot``)."""
    return {lot.pk: points for lot, points in redemptions_by_lot(member_id=entry.member_id, redemptions=[entry])}


# -- returns -------------------------------------------------------------------------------


def points_claw_back_order(
    *, order: SubscriptionOrder, reason: str = "", staff_user=None, now: dt.datetime | None = None
) -> Entry | None:
    """Take back what a returned order granted, even months later. Idempotent per order.

    What is left of the order's lot is removed; what was already spent is taken from the
    member's other spendable lots (FIFO), and what they cannot cover becomes a documented
    debt that later incoming points repay first. Points of the lot that already expired are
    not taken twice: when the lot is past its expiry but the nightly job has not recorded it
    yet, its expiry is recorded first. Only lots spendable ``now`` pay (docs/ledger.md).
    Returns the clawback entry, or ``None`` when there was nothing to take.
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
        if lot.remaining and lot.expires_at <= now:
            _expire_lot(account=account, lot=lot, now=now)  # what lapsed is expiry, not clawback
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
    above it the user needs ``ssr_points.adjust_points_unlimited`` (CX supervisors). Points
    added count against the user's daily cap (``roles.DAILY_POINTS_ADDED_CAP``), over all
    members: the staff user's row is locked while today's additions are summed, so two
    adjustments at once cannot both slip under it. A repeated request (same key) is not counted
    again.
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
    cap = daily_points_added_cap(staff_user) if isinstance(points, int) and points > 0 else None
    with transaction.atomic():
        if cap is not None:
            _check_daily_addition_cap(
                member=member, staff_user=staff_user, points=points, cap=cap, key=idempotency_key, now=now
            )
        return points_adjust(
            member=member,
            points=points,
            reason=reason,
            staff_user=staff_user,
            idempotency_key=idempotency_key,
            now=now,
        )


def points_added_by_staff_today(*, staff_user, now: dt.datetime | None = None) -> int:
    """The points ``staff_user`` added through adjustments since 00:00 today (``TIME_ZONE``)."""
    now = now or timezone.now()
    midnight = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    added = Entry.objects.filter(
        staff_user=staff_user, kind=Entry.Kind.ADJUSTMENT, points__gt=0, created_at__gte=midnight
    ).aggregate(total=Sum("points"))["total"]
    return added or 0


def _check_daily_addition_cap(*, member: Member, staff_user, points: int, cap: int, key: str | None, now) -> None:
    # One adjustment of this staff user at a time, whichever member it is for.
    users = get_user_model().objects.select_for_update()
    list(users.filter(pk=staff_user.pk).values_list("pk", flat=True))
    # The same request again is the same key for the same member (points_adjust deduplicates per
    # member and returns the first entry); the key reused for another member is a new adjustment.
    if key and Entry.objects.filter(member_id=member.pk, idempotency_key=key, staff_user=staff_user).exists():
        return
    added = points_added_by_staff_today(staff_user=staff_user, now=now)
    if added + points > cap:
        raise DailyAdditionCapReached(cap=f"{cap:,}", added=f"{added:,}", requested=f"{points:,}")


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
