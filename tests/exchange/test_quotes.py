"""The quote engine at its boundaries; the guide's worked example to the yen."""

from decimal import Decimal

import pytest

from exchange.exceptions import InvalidLine, NoActiveSubscription
from exchange.quotes import MAX_QUANTITY, TaxLine, quote_build, tax_included_in
from subscriptions.models import Subscription
from subscriptions.services import subscription_save
from tests.factories import ProductFactory


def test_the_guides_worked_example_comes_out_exactly(guide_member, guide_catalogue):
    quote = quote_build(member=guide_member, lines=[(guide_catalogue["reward"], 1)], ship_now=False)
    assert quote.item_count == 3
    assert quote.merchandise_incl_tax == 36900
    assert quote.points == 42
    assert quote.subtotal_excl_tax == 35567
    assert quote.exchange_fee_excl_tax == 1400
    assert quote.handling_fee_excl_tax == 0
    assert quote.tax == 2873
    assert quote.tax_by_rate == {8: 2733, 10: 140}
    # the qualified invoice's lines: the tax-included amount of each rate and the tax in it
    assert quote.tax_lines == (TaxLine(8, 36900, 2733), TaxLine(10, 1540, 140))
    assert [line.amount_excl_tax for line in quote.tax_lines] == [34167, 1400]
    assert quote.total == 38440
    assert quote.pv == Decimal("180")
    assert quote.total == quote.subtotal_excl_tax + quote.handling_fee_excl_tax + quote.tax


@pytest.mark.parametrize(
    ("points", "fee_units", "headroom"), [(1, 1, 99), (99, 1, 1), (100, 1, 0), (101, 2, 99), (200, 2, 0), (201, 3, 99)]
)
def test_fee_is_charged_per_started_100_points(guide_member, points, fee_units, headroom):
    reward = ProductFactory(reward=True, point_cost=points)
    quote = quote_build(member=guide_member, lines=[(reward, 1)], ship_now=False)
    assert (quote.points, quote.fee_units, quote.points_to_next_fee_unit) == (points, fee_units, headroom)
    assert quote.exchange_fee_excl_tax == 1400 * fee_units
    assert quote.exchange_fee_incl_tax == 1540 * fee_units


def test_zero_points_is_not_a_quote(guide_member, guide_catalogue):
    with pytest.raises(InvalidLine):
        quote_build(member=guide_member, lines=[], ship_now=False)
    with pytest.raises(InvalidLine):
        quote_build(member=guide_member, lines=[(guide_catalogue["reward"], 0)], ship_now=False)


@pytest.mark.parametrize(("bundle_total", "waived"), [(11999, False), (12000, True)])
def test_handling_fee_is_waived_from_a_12000_yen_subscription_order(
    guide_member, guide_catalogue, bundle_total, waived
):
    product = ProductFactory(price_incl_tax=bundle_total, tax_rate=8, pv=Decimal("50"))
    subscription_save(member=guide_member, items={product: 1})
    quote = quote_build(member=guide_member, lines=[(guide_catalogue["reward"], 1)], ship_now=False)
    assert quote.handling_fee_waived is waived
    assert quote.handling_fee_incl_tax == (0 if waived else 1100)
    assert quote.handling_fee_excl_tax == (0 if waived else 1000)
    tax10 = tax_included_in(1540 + (0 if waived else 1100), 10)
    assert quote.tax_by_rate == {8: tax_included_in(bundle_total, 8), 10: tax10}
    assert quote.total == bundle_total + 1540 + (0 if waived else 1100)
    assert quote.total == quote.subtotal_excl_tax + quote.handling_fee_excl_tax + quote.tax


def test_mixed_8_and_10_percent_items_round_once_per_rate(guide_member, guide_catalogue):
    food = ProductFactory(price_incl_tax=12345, tax_rate=8, pv=Decimal("50"))
    diffuser = ProductFactory(price_incl_tax=6601, tax_rate=10, pv=Decimal("20"))
    subscription_save(member=guide_member, items={food: 1, diffuser: 2})
    quote = quote_build(member=guide_member, lines=[(guide_catalogue["reward"], 3)], ship_now=False)
    assert quote.points == 126 and quote.fee_units == 2
    # one rounding for all 10 % amounts (items + fee), not one per line
    assert quote.tax_by_rate == {8: 12345 * 8 // 108, 10: (13202 + 3080) * 10 // 110}
    assert quote.total == 12345 + 13202 + 3080
    assert quote.subtotal_excl_tax == quote.total - quote.tax
    assert quote.pv == Decimal("90")
    assert quote.item_count == 6


def test_apply_now_ships_rewards_alone_with_the_handling_fee(guide_member, guide_catalogue):
    quote = quote_build(member=guide_member, lines=[(guide_catalogue["reward"], 1)], ship_now=True)
    assert quote.item_count == 1
    assert quote.merchandise_incl_tax == 0
    assert quote.pv == 0
    assert (quote.subtotal_excl_tax, quote.handling_fee_excl_tax, quote.tax, quote.total) == (1400, 1000, 240, 2640)
    assert quote.tax_lines == (TaxLine(10, 2640, 240),)


@pytest.mark.parametrize("quantity", [0, -1, MAX_QUANTITY + 1, 10**12, "3", 2.0, None, True])
def test_bad_quantities_are_refused(guide_member, guide_catalogue, quantity):
    with pytest.raises(InvalidLine):
        quote_build(member=guide_member, lines=[(guide_catalogue["reward"], quantity)], ship_now=False)


def test_products_that_cannot_be_exchanged_are_refused(guide_member, guide_catalogue):
    inactive = ProductFactory(reward=True, is_active=False)
    for product in (guide_catalogue["sunrise"], inactive, 999999):
        with pytest.raises(InvalidLine):
            quote_build(member=guide_member, lines=[(product, 1)], ship_now=False)


def test_same_product_twice_is_merged_and_capped(guide_member, guide_catalogue):
    quote = quote_build(
        member=guide_member, lines=[(guide_catalogue["reward"], 1), (guide_catalogue["reward"].pk, 2)], ship_now=False
    )
    assert quote.reward_lines[0].quantity == 3
    with pytest.raises(InvalidLine):
        quote_build(
            member=guide_member,
            lines=[(guide_catalogue["reward"], 60), (guide_catalogue["reward"], 40)],
            ship_now=False,
        )


def test_a_quote_needs_an_active_subscription(guide_member, guide_catalogue):
    Subscription.objects.filter(member=guide_member).update(status=Subscription.Status.PAUSED)
    with pytest.raises(NoActiveSubscription):
        quote_build(member=guide_member, lines=[(guide_catalogue["reward"], 1)], ship_now=False)


def test_quote_shows_the_lots_the_points_will_come_from(guide_member, guide_catalogue):
    quote = quote_build(member=guide_member, lines=[(guide_catalogue["reward"], 1)], ship_now=False)
    assert [use.points for use in quote.lot_uses] == [42]
    assert quote.available_points == 500 and quote.points_after == 458
