"""Placing and cancelling exchanges: one transaction, idempotent, nothing trusted from outside."""

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from exchange.exceptions import NotCancellable, NotShippable, PaymentMethodNeedsStaff, QuoteChanged
from exchange.models import Exchange
from exchange.quotes import quote_build
from exchange.services import exchange_cancel, exchange_mark_shipped, exchange_place
from ssr_points.exceptions import InsufficientPoints
from ssr_points.models import Entry, Lot
from ssr_points.selectors import points_available
from subscriptions.models import PaymentMethod
from subscriptions.services import product_save
from tests.factories import StaffUserFactory


def place(member, reward, quantity=1, **kwargs):
    kwargs.setdefault("idempotency_key", uuid.uuid4())
    return exchange_place(member=member, lines=[(reward, quantity)], ship_now=kwargs.pop("ship_now", False), **kwargs)


def test_placing_redeems_the_points_and_keeps_the_quotes_figures(guide_member, guide_catalogue, assert_ledger_ok):
    exchange = place(guide_member, guide_catalogue["reward"])
    assert (exchange.points, exchange.subtotal_excl_tax, exchange.tax, exchange.total) == (42, 35567, 2873, 38440)
    assert exchange.charge_incl_tax == 1540
    assert exchange.redemption.points == -42 and exchange.redemption.reference == exchange.number
    assert exchange.lines.get().quantity == 1
    assert points_available(member=guide_member) == 458
    assert_ledger_ok()


def test_the_same_key_places_one_exchange(guide_member, guide_catalogue, assert_ledger_ok):
    key = uuid.uuid4()
    first = place(guide_member, guide_catalogue["reward"], idempotency_key=key)
    second = place(guide_member, guide_catalogue["reward"], idempotency_key=key)
    assert first.pk == second.pk
    assert Exchange.objects.filter(member=guide_member).count() == 1
    assert points_available(member=guide_member) == 458
    assert_ledger_ok()


def test_a_changed_price_shows_the_new_quote_instead_of_charging(guide_member, guide_catalogue):
    seen = quote_build(member=guide_member, lines=[(guide_catalogue["reward"], 1)], ship_now=False)
    guide_catalogue["reward"].point_cost = 50
    product_save(product=guide_catalogue["reward"])
    with pytest.raises(QuoteChanged) as excinfo:
        place(guide_member, guide_catalogue["reward"], expected_fingerprint=seen.fingerprint)
    assert excinfo.value.quote.points == 50
    assert not Exchange.objects.exists()
    assert points_available(member=guide_member) == 500


def test_not_enough_points_changes_nothing(guide_member, guide_catalogue):
    with pytest.raises(InsufficientPoints):
        place(guide_member, guide_catalogue["reward"], quantity=12)  # 504 > 500
    assert not Exchange.objects.exists()
    assert not Entry.objects.filter(kind=Entry.Kind.REDEMPTION).exists()


@pytest.mark.parametrize("method", [PaymentMethod.BANK_TRANSFER, PaymentMethod.DIRECT_DEBIT])
def test_bank_members_exchange_only_through_staff(guide_member, guide_catalogue, method):
    guide_member.payment_method = method
    guide_member.save()
    with pytest.raises(PaymentMethodNeedsStaff):
        place(guide_member, guide_catalogue["reward"])
    staff = StaffUserFactory()
    exchange = place(guide_member, guide_catalogue["reward"], staff_user=staff)
    assert exchange.placed_by == staff and exchange.redemption.staff_user == staff


def test_cancel_returns_points_to_their_lots(guide_member, guide_catalogue, assert_ledger_ok):
    lot = Lot.objects.get(member=guide_member)
    exchange = place(guide_member, guide_catalogue["reward"])
    exchange_cancel(exchange=exchange)
    exchange.refresh_from_db()
    lot.refresh_from_db()
    assert exchange.status == Exchange.Status.CANCELLED and exchange.reversal.points == 42
    assert lot.remaining == 500
    assert exchange_cancel(exchange=exchange).reversal_id == exchange.reversal_id  # twice: no change
    assert_ledger_ok()


def test_shipped_or_bundled_exchanges_cannot_be_cancelled(guide_member, guide_catalogue, assert_ledger_ok):
    shipped = exchange_mark_shipped(exchange=place(guide_member, guide_catalogue["reward"], ship_now=True))
    with pytest.raises(NotCancellable):
        exchange_cancel(exchange=shipped)
    assert points_available(member=guide_member) == 458
    assert_ledger_ok()


def test_points_cannot_expire_between_placing_and_shipping(guide_member, guide_catalogue, assert_ledger_ok):
    from ssr_points.batches import points_expire_due

    exchange = place(guide_member, guide_catalogue["reward"])
    points_expire_due(at=timezone.now() + dt.timedelta(days=400))
    exchange.refresh_from_db()
    assert exchange.redemption.points == -42  # redeemed at placement: nothing left to expire
    assert Entry.objects.get(kind=Entry.Kind.EXPIRY).points == -458
    assert_ledger_ok(at=timezone.now() + dt.timedelta(days=400))


def test_a_cancelled_exchange_cannot_ship(guide_member, guide_catalogue, assert_ledger_ok):
    exchange = exchange_cancel(exchange=place(guide_member, guide_catalogue["reward"]))
    with pytest.raises(NotShippable) as excinfo:
        exchange_mark_shipped(exchange=exchange)
    assert exchange.number in str(excinfo.value)
    exchange.refresh_from_db()
    assert (exchange.status, exchange.shipped_at) == (Exchange.Status.CANCELLED, None)
    assert points_available(member=guide_member) == 500
    assert_ledger_ok()
