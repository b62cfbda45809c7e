"""Double tap and two tabs on PostgreSQL: one exchange, points redeemed once."""

import re
import uuid
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from exchange.models import Exchange
from exchange.services import exchange_place
from ssr_points.services import points_adjust
from subscriptions.services import subscription_save
from tests.factories import MemberFactory, ProductFactory
from tests.ssr_points.test_concurrency import run_in_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_confirmations_with_one_key_place_one_exchange(assert_ledger_ok):
    member = MemberFactory()
    subscription_save(member=member, items={ProductFactory(price_incl_tax=36900, pv=Decimal("180")): 1})
    reward = ProductFactory(reward=True, point_cost=42)
    points_adjust(member=member, points=100, reason="テスト", staff_user=member.user)
    key = uuid.uuid4()
    results = run_in_threads(
        [lambda: exchange_place(member=member, lines=[(reward, 1)], ship_now=False, idempotency_key=key)] * 8
    )
    assert {r.pk for r in results if isinstance(r, Exchange)} == {Exchange.objects.get().pk}
    assert not [r for r in results if not isinstance(r, Exchange)], results
    member.point_account.refresh_from_db()
    assert member.point_account.balance == 58
    assert_ledger_ok()


def test_simultaneous_taps_on_the_confirmation_page_place_one_exchange(assert_ledger_ok):
    """Six requests of one browser session posting the same confirmation at once (no JS)."""
    member = MemberFactory()
    subscription_save(member=member, items={ProductFactory(price_incl_tax=36900, pv=Decimal("180")): 1})
    reward = ProductFactory(reward=True, point_cost=42)
    points_adjust(member=member, points=100, reason="テスト", staff_user=member.user)
    browser = Client()
    browser.force_login(member.user)
    browser.post(reverse("exchange:quantity", args=[reward.pk]), {"quantity": "1"})
    page = browser.get(reverse("exchange:confirm")).content.decode()
    form = {
        name: re.search(rf'name="{name}" value="([^"]*)"', page).group(1) for name in ("idempotency_key", "fingerprint")
    }
    form["agree"] = "on"

    def tap():
        tab = Client()
        tab.cookies = browser.cookies  # the same session, as a double tap would send
        return tab.post(reverse("exchange:confirm"), form)

    responses = run_in_threads([tap] * 6)
    exchange = Exchange.objects.get()
    assert {r["Location"] for r in responses} == {reverse("exchange:done", args=[exchange.number])}
    member.point_account.refresh_from_db()
    assert member.point_account.balance == 58
    assert_ledger_ok()
