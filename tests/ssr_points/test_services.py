"""The ledger rules of docs/rules.md §1, each at its boundary."""

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from ssr_points import batches, checks, services
from ssr_points.exceptions import (
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
from ssr_points.selectors import points_available, points_spendable
from subscriptions.models import SubscriptionOrder
from tests.factories import OrderFactory, SubscriptionFactory

TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")


def tokyo(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TOKYO)


def ledger_snapshot(member):
    account = PointAccount.objects.get(member=member)
    return (
        account.balance,
        account.debt,
        list(Lot.objects.filter(member=member).order_by("pk").values_list("remaining", "expired")),
        Entry.objects.filter(member=member).count(),
        Allocation.objects.filter(member=member).count(),
    )


def subscription_of(member):
    return member.subscriptions.filter(status="active").first() or SubscriptionFactory(member=member)


def grant(member, points, *, at):
    """Grant exactly ``points`` via a shipped order (PV × 10% in month 1)."""
    order = OrderFactory(
        subscription=subscription_of(member), pv=Decimal(points * 10), shipped_at=at, months_subscribed=1
    )
    lot = services.points_grant_for_order(order=order, now=at)
    assert lot.amount == points
    return lot


# -- expiry instant ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("granted", "expires"),
    [
        (tokyo(2026, 3, 15, 10, 0), tokyo(2027, 3, 15)),
        (tokyo(2026, 3, 15, 0, 0), tokyo(2027, 3, 15)),
        (tokyo(2026, 3, 15, 23, 59, 59), tokyo(2027, 3, 15)),
        (tokyo(2028, 2, 29, 12, 0), tokyo(2029, 2, 28)),
        (tokyo(2026, 12, 31, 8, 0), tokyo(2027, 12, 31)),
        # 15:30 UTC on 31 Jan is 1 Feb in Tokyo: the local date counts.
        (dt.datetime(2026, 1, 31, 15, 30, tzinfo=dt.UTC), tokyo(2027, 2, 1)),
        (dt.datetime(2026, 1, 31, 14, 59, tzinfo=dt.UTC), tokyo(2027, 1, 31)),
    ],
)
def test_lot_expires_at_tokyo_midnight_twelve_months_after_local_grant_date(granted, expires):
    assert services.lot_expires_at(granted_at=granted, zone=TOKYO) == expires


def test_lot_stops_being_spendable_at_its_expiry_instant(member):
    lot = grant(member, 50, at=tokyo(2028, 2, 29, 9, 0))
    assert lot.expires_at == tokyo(2029, 2, 28)
    just_before = tokyo(2029, 2, 27, 23, 59, 59, 999999)
    assert points_available(member=member, at=just_before) == 50
    assert points_available(member=member, at=tokyo(2029, 2, 28)) == 0
    with pytest.raises(InsufficientPoints):
        services.points_redeem(member=member, points=1, reference="EX-1", reason="交換", now=tokyo(2029, 2, 28))
    entry = services.points_redeem(member=member, points=50, reference="EX-1", reason="交換", now=just_before)
    assert entry.points == -50


# -- grants ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("month", "percent"), [(1, 10), (3, 10), (4, 15), (6, 15), (7, 20), (9, 20), (10, 25), (12, 25), (13, 30), (40, 30)]
)
def test_grant_uses_the_tenure_schedule_and_floors(member, month, percent, assert_ledger_ok):
    order = OrderFactory(subscription__member=member, member=member, pv=Decimal("180.90"), months_subscribed=month)
    lot = services.points_grant_for_order(order=order)
    assert lot.amount == int(Decimal("180.90") * percent // 100)
    assert_ledger_ok()


def test_same_order_event_three_times_grants_once(member, assert_ledger_ok):
    order = OrderFactory(subscription__member=member, member=member, pv=Decimal("180"))
    lots = {services.points_grant_for_order(order=order).pk for _ in range(3)}
    assert len(lots) == 1
    assert PointAccount.objects.get(member=member).balance == 18
    assert Entry.objects.filter(member=member, kind=Entry.Kind.GRANT).count() == 1
    assert_ledger_ok()


def test_order_not_shipped_is_not_granted(member):
    order = OrderFactory(
        subscription__member=member, member=member, status=SubscriptionOrder.Status.CREATED, shipped_at=None
    )
    before = ledger_snapshot(member)
    with pytest.raises(OrderNotShipped):
        services.points_grant_for_order(order=order)
    assert ledger_snapshot(member) == before


def test_order_with_too_little_pv_grants_nothing(member):
    order = OrderFactory(subscription__member=member, member=member, pv=Decimal("9.99"))
    assert services.points_grant_for_order(order=order) is None
    assert not Lot.objects.filter(member=member).exists()


def test_grant_reason_names_the_order(member):
    lot = grant(member, 18, at=tokyo(2026, 5, 1, 10))
    entry = lot.entries.get()
    assert entry.order.number in entry.reason
    assert entry.reference == entry.order.number


# -- redemption ----------------------------------------------------------------------------------


def test_redemption_consumes_soonest_expiring_lots_first(member, assert_ledger_ok):
    late = grant(member, 30, at=tokyo(2026, 6, 1, 10))
    early = grant(member, 20, at=tokyo(2026, 2, 1, 10))
    middle = grant(member, 25, at=tokyo(2026, 4, 1, 10))
    entry = services.points_redeem(member=member, points=42, reference="EX-1", reason="交換", now=tokyo(2026, 7, 1))
    taken = dict(entry.allocations.values_list("lot_id", "points"))
    assert taken == {early.pk: 20, middle.pk: 22}
    for lot, left in ((early, 0), (middle, 3), (late, 30)):
        lot.refresh_from_db()
        assert lot.remaining == left
    assert points_available(member=member, at=tokyo(2026, 7, 1)) == 33
    assert_ledger_ok()


def test_redeeming_exactly_the_balance_succeeds_and_one_more_fails(member, assert_ledger_ok):
    grant(member, 40, at=tokyo(2026, 2, 1, 10))
    now = tokyo(2026, 3, 1)
    before = ledger_snapshot(member)
    with pytest.raises(InsufficientPoints) as excinfo:
        services.points_redeem(member=member, points=41, reference="EX-1", reason="交換", now=now)
    assert "41" in str(excinfo.value) and "40" in str(excinfo.value)
    assert ledger_snapshot(member) == before
    services.points_redeem(member=member, points=40, reference="EX-2", reason="交換", now=now)
    assert points_available(member=member, at=now) == 0
    assert_ledger_ok()


def test_expired_lot_is_not_spendable_before_the_nightly_job(member, assert_ledger_ok):
    grant(member, 40, at=tokyo(2025, 2, 1, 10))
    grant(member, 10, at=tokyo(2025, 6, 1, 10))
    now = tokyo(2026, 3, 1)
    assert PointAccount.objects.get(member=member).balance == 50  # recorded, expiry not yet recorded
    assert points_available(member=member, at=now) == 10
    with pytest.raises(InsufficientPoints):
        services.points_redeem(member=member, points=11, reference="EX-1", reason="交換", now=now)
    assert_ledger_ok()


@pytest.mark.parametrize("points", [0, -1, 1.5, "10", None, True, Decimal("1")])
def test_redeem_refuses_points_that_are_not_positive_integers(member, points):
    grant(member, 40, at=tokyo(2026, 2, 1, 10))
    before = ledger_snapshot(member)
    with pytest.raises(InvalidPoints):
        services.points_redeem(member=member, points=points, reference="EX-1", reason="交換")
    assert ledger_snapshot(member) == before


def test_redeem_with_the_same_key_redeems_once(member, assert_ledger_ok):
    grant(member, 40, at=tokyo(2026, 2, 1, 10))
    now = tokyo(2026, 3, 1)
    first = services.points_redeem(member=member, points=30, reference="EX-1", reason="x", idempotency_key="k", now=now)
    again = services.points_redeem(member=member, points=30, reference="EX-1", reason="x", idempotency_key="k", now=now)
    assert first.pk == again.pk
    assert points_available(member=member, at=now) == 10
    with pytest.raises(IdempotencyConflict):
        services.points_redeem(member=member, points=5, reference="EX-1", reason="x", idempotency_key="k", now=now)
    assert_ledger_ok()


# -- reversal ------------------------------------------------------------------------------------


def test_reversal_puts_points_back_into_the_same_lots(member, assert_ledger_ok):
    early = grant(member, 20, at=tokyo(2026, 2, 1, 10))
    late = grant(member, 30, at=tokyo(2026, 4, 1, 10))
    now = tokyo(2026, 5, 1)
    redemption = services.points_redeem(member=member, points=35, reference="EX-1", reason="交換", now=now)
    reversal = services.points_reverse(entry=redemption, reason="交換キャンセル", now=now)
    assert reversal.points == 35
    early.refresh_from_db()
    late.refresh_from_db()
    assert (early.remaining, late.remaining) == (20, 30)
    assert early.expires_at == tokyo(2027, 2, 1)
    assert points_available(member=member, at=now) == 50
    with pytest.raises(AlreadyReversed):
        services.points_reverse(entry=redemption, reason="again", now=now)
    with pytest.raises(NotReversible):
        services.points_reverse(entry=reversal, reason="again", now=now)
    assert_ledger_ok()


def test_a_redemption_is_reversed_in_parts_the_points_taken_last_first_never_beyond_what_it_took(
    member, assert_ledger_ok
):
    early = grant(member, 20, at=tokyo(2026, 2, 1, 10))
    late = grant(member, 30, at=tokyo(2026, 4, 1, 10))
    now = tokyo(2026, 5, 1)
    redemption = services.points_redeem(member=member, points=35, reference="EX-1", reason="交換", now=now)
    first = services.points_reverse(entry=redemption, points=10, reason="一部返還", now=now)  # 10 of the late lot's 15
    early.refresh_from_db(), late.refresh_from_db()
    assert (first.points, early.remaining, late.remaining) == (10, 0, 25)
    services.points_reverse(entry=redemption, points=10, reason="一部返還", now=now)  # 5 late, then 5 early
    early.refresh_from_db(), late.refresh_from_db()
    assert (early.remaining, late.remaining) == (5, 30)
    with pytest.raises(AlreadyReversed):
        services.points_reverse(entry=redemption, points=16, reason="多すぎる", now=now)  # 15 left
    services.points_reverse(entry=redemption, reason="残り", now=now)
    early.refresh_from_db()
    assert early.remaining == 20 and points_available(member=member, at=now) == 50
    with pytest.raises(AlreadyReversed):
        services.points_reverse(entry=redemption, points=1, reason="もう何もない", now=now)
    assert_ledger_ok()


def test_after_a_reversal_that_repaid_a_debt_the_rest_goes_back_to_the_lots_it_came_from(member, assert_ledger_ok):
    early = grant(member, 5, at=tokyo(2026, 2, 1, 10))
    late = grant(member, 10, at=tokyo(2026, 4, 1, 10))
    returned = grant(member, 8, at=tokyo(2026, 4, 15, 10))
    now = tokyo(2026, 5, 1)
    redemption = services.points_redeem(member=member, points=23, reference="EX-1", reason="交換", now=now)
    returned.order.status = SubscriptionOrder.Status.RETURNED
    returned.order.save()
    services.points_claw_back_order(order=returned.order, now=now)  # all spent: a debt of 8
    assert PointAccount.objects.get(member=member).debt == 8
    # 10 back, the last taken first (8 to the returned order's lot, 2 to the late one); the debt
    # takes them again, so this reversal's rows are net of the repayment.
    services.points_reverse(entry=redemption, points=10, reason="一部返還", now=now)
    account = PointAccount.objects.get(member=member)
    early.refresh_from_db(), late.refresh_from_db(), returned.refresh_from_db()
    assert (account.debt, early.remaining, late.remaining, returned.remaining) == (0, 0, 0, 2)
    # The redemption still holds 5 of the early lot and 8 of the late one, and nothing of the returned
    # order's lot: that is where the rest goes back, with each lot's own expiry.
    services.points_reverse(entry=redemption, reason="キャンセル", now=now)
    early.refresh_from_db(), late.refresh_from_db(), returned.refresh_from_db()
    assert (early.remaining, late.remaining, returned.remaining) == (5, 8, 2)
    assert points_available(member=member, at=now) == 15
    assert_ledger_ok()


def test_the_ledger_check_reports_reversals_that_give_back_more_than_a_redemption_took(member):
    grant(member, 50, at=tokyo(2026, 2, 1, 10))
    now = tokyo(2026, 5, 1)
    redemption = services.points_redeem(member=member, points=20, reference="EX-1", reason="交換", now=now)
    services.points_reverse(entry=redemption, reason="キャンセル", now=now)
    # What a bug writing a second full reversal beside the service would leave (entry and balance only).
    Entry.objects.create(member=member, kind="reversal", points=20, reason="二重", reverses=redemption)
    rules = {violation.rule for violation in checks.ledger_check(member_ids=[member.pk])}
    assert f"entry {redemption.pk}: its reversals ≤ what it redeemed" in rules


def test_reversal_after_the_lots_expiry_returns_points_that_then_expire(member, assert_ledger_ok):
    lot = grant(member, 20, at=tokyo(2026, 2, 1, 10))
    redemption = services.points_redeem(member=member, points=15, reference="EX-1", reason="x", now=tokyo(2027, 1, 31))
    batches.points_expire_due(at=tokyo(2027, 2, 1))
    lot.refresh_from_db()
    assert (lot.remaining, lot.expired) == (0, 5)
    services.points_reverse(entry=redemption, reason="キャンセル", now=tokyo(2027, 2, 2))
    lot.refresh_from_db()
    assert lot.remaining == 15  # back in the same lot, with its original expiry
    assert points_available(member=member, at=tokyo(2027, 2, 2)) == 0
    assert_ledger_ok(at=tokyo(2027, 2, 2))
    result = batches.points_expire_due(at=tokyo(2027, 2, 2))
    assert (result.lots, result.points) == (1, 15)
    lot.refresh_from_db()
    assert (lot.remaining, lot.expired) == (0, 20)
    assert PointAccount.objects.get(member=member).balance == 0
    assert_ledger_ok(at=tokyo(2027, 2, 2))


# -- clawback --------------------------------------------------------------------------------------


def test_clawback_removes_what_is_left_of_the_orders_lot(member, assert_ledger_ok):
    lot = grant(member, 18, at=tokyo(2026, 2, 1, 10))
    lot.order.status = SubscriptionOrder.Status.RETURNED
    lot.order.save()
    entry = services.points_claw_back_order(order=lot.order, now=tokyo(2026, 3, 1))
    assert entry.points == -18
    assert lot.order.number in entry.reason
    assert points_available(member=member, at=tokyo(2026, 3, 1)) == 0
    assert services.points_claw_back_order(order=lot.order, now=tokyo(2026, 3, 2)).pk == entry.pk
    assert_ledger_ok()


def test_clawback_of_spent_points_becomes_debt_repaid_by_later_grants(member, assert_ledger_ok):
    lot = grant(member, 50, at=tokyo(2026, 2, 1, 10))
    services.points_redeem(member=member, points=42, reference="EX-1", reason="交換", now=tokyo(2026, 3, 1))
    services.points_claw_back_order(order=lot.order, now=tokyo(2026, 9, 1))
    account = PointAccount.objects.get(member=member)
    assert (account.balance, account.debt) == (-42, 42)
    assert points_available(member=member, at=tokyo(2026, 9, 1)) == -42
    with pytest.raises(NegativeBalance):
        services.points_redeem(member=member, points=1, reference="EX-2", reason="x", now=tokyo(2026, 9, 1))
    assert_ledger_ok()
    grant(member, 30, at=tokyo(2026, 10, 1, 10))
    account.refresh_from_db()
    assert (account.balance, account.debt) == (-12, 12)
    new = grant(member, 20, at=tokyo(2026, 11, 1, 10))
    account.refresh_from_db()
    new.refresh_from_db()
    assert (account.balance, account.debt, new.remaining) == (8, 0, 8)
    assert points_available(member=member, at=tokyo(2026, 11, 2)) == 8
    assert_ledger_ok()


def test_spendable_lots_and_debt_are_read_in_one_query(member, django_assert_num_queries):
    first = grant(member, 50, at=tokyo(2026, 2, 1, 10))
    second = grant(member, 30, at=tokyo(2026, 3, 1, 10))
    PointAccount.objects.filter(member=member).update(debt=5)  # the selector's arithmetic, not a ledger state
    with django_assert_num_queries(1):
        spendable = points_spendable(member=member, at=first.expires_at - dt.timedelta(microseconds=1))
    assert ([lot.pk for lot in spendable.lots], spendable.debt, spendable.available) == ([first.pk, second.pk], 5, 75)
    spendable = points_spendable(member=member, at=first.expires_at)  # the first lot's expiry instant
    assert ([lot.pk for lot in spendable.lots], spendable.available) == ([second.pk], 25)
    with django_assert_num_queries(2):  # no open lot left: the debt is read on its own
        spendable = points_spendable(member=member, at=second.expires_at)
    assert (spendable.lots, spendable.debt, spendable.available) == ([], 5, -5)
    assert points_available(member=member, at=second.expires_at) == -5


def test_clawback_takes_spent_points_from_other_lots_before_debt(member, assert_ledger_ok):
    returned = grant(member, 50, at=tokyo(2026, 2, 1, 10))
    services.points_redeem(member=member, points=40, reference="EX-1", reason="交換", now=tokyo(2026, 3, 1))
    other = grant(member, 25, at=tokyo(2026, 4, 1, 10))
    services.points_claw_back_order(order=returned.order, now=tokyo(2026, 5, 1))
    other.refresh_from_db()
    account = PointAccount.objects.get(member=member)
    assert (other.remaining, account.debt, account.balance) == (0, 15, -15)
    assert_ledger_ok()


def test_clawback_does_not_take_already_expired_points_twice(member, assert_ledger_ok):
    lot = grant(member, 50, at=tokyo(2025, 2, 1, 10))
    services.points_redeem(member=member, points=10, reference="EX-1", reason="x", now=tokyo(2025, 3, 1))
    batches.points_expire_due(at=tokyo(2026, 2, 1))
    entry = services.points_claw_back_order(order=lot.order, now=tokyo(2026, 3, 1))
    assert entry.points == -10
    account = PointAccount.objects.get(member=member)
    assert (account.balance, account.debt) == (-10, 10)
    assert_ledger_ok()


# -- adjustments -----------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_adjustment_without_a_reason_is_refused(member, staff_user, reason):
    before = ledger_snapshot(member)
    with pytest.raises(ReasonRequired):
        services.points_adjust(member=member, points=10, reason=reason, staff_user=staff_user)
    assert ledger_snapshot(member) == before


def test_adjustment_records_the_staff_user_and_reason(member, staff_user, assert_ledger_ok):
    entry = services.points_adjust(member=member, points=25, reason="お詫び", staff_user=staff_user)
    assert (entry.points, entry.reason, entry.staff_user) == (25, "お詫び", staff_user)
    assert entry.lot.amount == 25
    taken = services.points_adjust(member=member, points=-5, reason="誤付与の訂正", staff_user=staff_user)
    assert taken.points == -5
    assert points_available(member=member) == 20
    assert_ledger_ok()


def test_adjustment_needs_a_staff_user_and_cannot_go_below_zero(member, staff_user):
    services.points_adjust(member=member, points=10, reason="x", staff_user=staff_user)
    before = ledger_snapshot(member)
    with pytest.raises(StaffUserRequired):
        services.points_adjust(member=member, points=5, reason="x", staff_user=None)
    with pytest.raises(InsufficientPoints):
        services.points_adjust(member=member, points=-11, reason="x", staff_user=staff_user)
    with pytest.raises(InvalidPoints):
        services.points_adjust(member=member, points=0, reason="x", staff_user=staff_user)
    assert ledger_snapshot(member) == before


# -- expiry ------------------------------------------------------------------------------------------


def test_expiry_records_lots_due_at_the_cutoff_instant_only(member, assert_ledger_ok):
    due = grant(member, 20, at=tokyo(2025, 3, 1, 10))  # expires 2026-03-01 00:00
    not_yet = grant(member, 30, at=tokyo(2025, 3, 2, 10))  # expires 2026-03-02 00:00
    result = batches.points_expire_due(at=tokyo(2026, 3, 1))
    assert (result.lots, result.points, result.members) == (1, 20, 1)
    due.refresh_from_db()
    not_yet.refresh_from_db()
    assert (due.remaining, due.expired, not_yet.remaining) == (0, 20, 30)
    entry = Entry.objects.get(member=member, kind=Entry.Kind.EXPIRY)
    assert (entry.points, entry.lot_id) == (-20, due.pk)
    assert batches.points_expire_due(at=tokyo(2026, 3, 1, 23, 59)).lots == 0  # rerun changes nothing
    assert_ledger_ok(at=tokyo(2026, 3, 1))


def test_expiry_in_small_batches_covers_every_member(db, assert_ledger_ok):
    from tests.factories import MemberFactory

    members = MemberFactory.create_batch(7)
    for m in members:
        grant(m, 10, at=tokyo(2025, 1, 5, 10))
        grant(m, 5, at=tokyo(2025, 1, 6, 10))
    seen = []
    result = batches.points_expire_due(at=tokyo(2026, 1, 6), batch_size=3, progress=seen.append)
    assert (result.lots, result.points, result.members) == (14, 105, 7)
    assert len(seen) == result.batches >= 4
    assert all(PointAccount.objects.get(member=m).balance == 0 for m in members)
    assert_ledger_ok()


# -- the database refuses corrupt writes ---------------------------------------------------------------


def test_database_refuses_a_lot_with_more_left_than_granted(member):
    lot = grant(member, 20, at=tokyo(2026, 2, 1, 10))
    with pytest.raises(IntegrityError), transaction.atomic():
        Lot.objects.filter(pk=lot.pk).update(remaining=21)
    with pytest.raises(IntegrityError), transaction.atomic():
        Lot.objects.filter(pk=lot.pk).update(remaining=-1)


def test_database_refuses_a_second_grant_for_the_same_order(member):
    lot = grant(member, 20, at=tokyo(2026, 2, 1, 10))
    with pytest.raises(IntegrityError), transaction.atomic():
        Lot.objects.create(
            member=member, order=lot.order, amount=5, remaining=5, granted_at=lot.granted_at, expires_at=lot.expires_at
        )


def test_database_refuses_entries_with_the_wrong_sign_or_no_reason(member):
    with pytest.raises(IntegrityError), transaction.atomic():
        Entry.objects.create(member=member, kind=Entry.Kind.REDEMPTION, points=10, reason="x")
    with pytest.raises(IntegrityError), transaction.atomic():
        Entry.objects.create(member=member, kind=Entry.Kind.GRANT, points=10, reason="")


def test_ledger_check_reports_a_tampered_balance(member, staff_user):
    services.points_adjust(member=member, points=10, reason="x", staff_user=staff_user)
    PointAccount.objects.filter(member=member).update(balance=11)
    rules = {v.rule for v in checks.ledger_check(member_ids=[member.pk])}
    assert rules == {"balance = Σ entries", "balance = Σ lot.remaining − debt"}


def test_redeem_under_the_callers_lock_takes_only_that_members_locked_account(member, staff_user, assert_ledger_ok):
    """Placing an exchange locks the account first and hands it on; it is not locked twice, and
    an account that is not the member's is refused."""
    from tests.factories import MemberFactory

    services.points_adjust(member=member, points=100, reason="付与", staff_user=staff_user)
    other = MemberFactory()
    with transaction.atomic():
        account = services.points_account_lock(member=member)
        with pytest.raises(RuntimeError):
            services.points_redeem(
                member=member, points=10, reference="EX-1", reason="交換", account=PointAccount(member=other)
            )
        entry = services.points_redeem(member=member, points=10, reference="EX-1", reason="交換", account=account)
    assert entry.points == -10
    assert PointAccount.objects.get(member=member).balance == 90
    assert_ledger_ok()
