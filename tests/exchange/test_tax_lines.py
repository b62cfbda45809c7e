"""The tax per rate recorded with each placed exchange (the qualified invoice's breakdown)."""

import dataclasses
import importlib
import uuid
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import IntegrityError, transaction

from exchange import services
from exchange.models import Exchange, ExchangeTaxLine
from exchange.quotes import TaxLine, quote_build
from exchange.services import exchange_place
from ssr_points.selectors import points_available
from subscriptions.services import subscription_save
from tests.factories import ProductFactory

backfill_migration = importlib.import_module("exchange.migrations.0004_backfill_exchange_tax_lines")


def place(member, reward, quantity=1, *, ship_now=False):
    return exchange_place(member=member, lines=[(reward, quantity)], ship_now=ship_now, idempotency_key=uuid.uuid4())


def recorded(exchange):
    return list(exchange.tax_lines.values_list("rate", "amount_incl_tax", "tax"))


def assert_adds_up(exchange):
    tax_lines = list(exchange.tax_lines.all())
    assert sum(line.tax for line in tax_lines) == exchange.tax
    assert sum(line.amount_incl_tax for line in tax_lines) == exchange.total
    assert exchange.subtotal_excl_tax + exchange.handling_fee_excl_tax == sum(
        line.amount_excl_tax for line in tax_lines
    )


def test_the_guides_worked_example_records_2733_at_8_and_140_at_10(guide_member, guide_catalogue, assert_ledger_ok):
    exchange = place(guide_member, guide_catalogue["reward"])
    assert recorded(exchange) == [(8, 36900, 2733), (10, 1540, 140)]
    assert exchange.tax == 2873 == 2733 + 140
    assert [line.amount_excl_tax for line in exchange.tax_lines.all()] == [34167, 1400]
    assert all(line.member_id == guide_member.pk for line in exchange.tax_lines.all())
    assert_adds_up(exchange)
    assert_ledger_ok()


def test_the_recorded_lines_are_the_quotes(guide_member, guide_catalogue):
    quote = quote_build(member=guide_member, lines=[(guide_catalogue["reward"], 1)], ship_now=False)
    exchange = place(guide_member, guide_catalogue["reward"])
    assert tuple(TaxLine(*row) for row in recorded(exchange)) == quote.tax_lines


def test_the_handling_fee_is_taxed_at_the_standard_rate_when_applying_now(guide_member, guide_catalogue):
    exchange = place(guide_member, guide_catalogue["reward"], ship_now=True)
    # exchange fee 1,540 + handling fee 1,100, both at 10 %: one rounding, floor(2,640 × 10 / 110)
    assert recorded(exchange) == [(10, 2640, 240)]
    assert (exchange.handling_fee_excl_tax, exchange.tax, exchange.total) == (1000, 240, 2640)
    assert_adds_up(exchange)


def test_the_handling_fee_of_a_small_bundle_joins_the_10_percent_line(guide_member, guide_catalogue):
    small = ProductFactory(price_incl_tax=6000, tax_rate=8, pv=Decimal("30"))
    subscription_save(member=guide_member, items={small: 1})
    exchange = place(guide_member, guide_catalogue["reward"])
    assert recorded(exchange) == [(8, 6000, 444), (10, 2640, 240)]
    assert exchange.tax == 684
    assert_adds_up(exchange)


def test_mixed_rates_add_up_to_the_exchanges_tax_and_total(guide_member, guide_catalogue):
    food = ProductFactory(price_incl_tax=12345, tax_rate=8, pv=Decimal("50"))
    diffuser = ProductFactory(price_incl_tax=6601, tax_rate=10, pv=Decimal("20"))
    subscription_save(member=guide_member, items={food: 1, diffuser: 2})
    exchange = place(guide_member, guide_catalogue["reward"], quantity=3)
    assert recorded(exchange) == [(8, 12345, 914), (10, 13202 + 3080, 1480)]
    assert_adds_up(exchange)


def test_a_second_call_with_the_same_key_records_no_second_set(guide_member, guide_catalogue):
    key = uuid.uuid4()
    for _ in range(2):
        exchange = exchange_place(
            member=guide_member, lines=[(guide_catalogue["reward"], 1)], ship_now=False, idempotency_key=key
        )
    assert ExchangeTaxLine.objects.filter(exchange=exchange).count() == 2


def test_lines_that_do_not_add_up_place_nothing(guide_member, guide_catalogue, monkeypatch):
    def broken_quote(**kwargs):
        quote = quote_build(**kwargs)
        return dataclasses.replace(quote, tax_lines=quote.tax_lines[:1])

    monkeypatch.setattr(services, "quote_build", broken_quote)
    with pytest.raises(ValueError, match="does not add up"):
        place(guide_member, guide_catalogue["reward"])
    assert not Exchange.objects.exists()
    assert not ExchangeTaxLine.objects.exists()
    assert points_available(member=guide_member) == 500


# -- what the database refuses -------------------------------------------------------------------


@pytest.fixture
def guide_exchange(guide_member, guide_catalogue):
    return place(guide_member, guide_catalogue["reward"])


def tax_line(exchange, **figures):
    return ExchangeTaxLine(member_id=exchange.member_id, exchange=exchange, **figures)


def test_one_line_per_rate(guide_exchange):
    with pytest.raises(IntegrityError), transaction.atomic():
        tax_line(guide_exchange, rate=8, amount_incl_tax=1080, tax=80).save()


@pytest.mark.parametrize(
    "figures",
    [
        {"rate": 5, "amount_incl_tax": -105, "tax": -5},  # negative amount and tax
        {"rate": 5, "amount_incl_tax": 105, "tax": 4},  # not floor(105 × 5 / 105) = 5
        {"rate": 5, "amount_incl_tax": 105, "tax": 6},
        {"rate": 101, "amount_incl_tax": 201, "tax": 100},  # not a percentage
    ],
)
def test_a_line_must_be_a_rounded_down_tax_of_its_amount(guide_exchange, figures):
    with pytest.raises(IntegrityError), transaction.atomic():
        tax_line(guide_exchange, **figures).save()


def test_a_large_amount_does_not_overflow_the_rounding_check(guide_exchange):
    amount = 2_000_000_000  # amount × rate exceeds a 32-bit integer
    tax_line(guide_exchange, rate=5, amount_incl_tax=amount, tax=amount * 5 // 105).save()


# -- exchanges placed before the lines were recorded (migration 0004) ------------------------------


def test_backfill_records_fee_only_exchanges_exactly_and_leaves_bundles_with_items(guide_member, guide_catalogue):
    ship_now = place(guide_member, guide_catalogue["reward"], ship_now=True)
    bundled = place(guide_member, guide_catalogue["reward"])
    placed = {exchange.pk: recorded(exchange) for exchange in (ship_now, bundled)}
    ExchangeTaxLine.objects.all().delete()

    backfill_migration.backfill(apps, None)
    backfill_migration.backfill(apps, None)  # rerunnable: nothing twice

    assert recorded(ship_now) == placed[ship_now.pk] == [(10, 2640, 240)]
    # The subscription items' rates were not stored with the exchange: no guessed split.
    assert recorded(bundled) == []


def test_backfill_writes_nothing_when_the_rate_no_longer_fits_the_figures(guide_member, guide_catalogue):
    exchange = place(guide_member, guide_catalogue["reward"], ship_now=True)
    ExchangeTaxLine.objects.all().delete()
    guide_member.market.standard_tax_rate = 12
    guide_member.market.save()
    backfill_migration.backfill(apps, None)
    assert recorded(exchange) == []


@pytest.mark.parametrize(
    ("figures", "line"),
    [
        ({"exchange_fee_excl_tax": 1400, "handling_fee_excl_tax": 1000, "charge_incl_tax": 2640, "tax": 240}, 2640),
        ({"exchange_fee_excl_tax": 2800, "handling_fee_excl_tax": 0, "charge_incl_tax": 3080, "tax": 280}, 3080),
        ({"exchange_fee_excl_tax": 1400, "handling_fee_excl_tax": 1000, "charge_incl_tax": 2640, "tax": 239}, None),
        ({"exchange_fee_excl_tax": 1400, "handling_fee_excl_tax": 999, "charge_incl_tax": 2640, "tax": 240}, None),
    ],
)
def test_backfill_recomputes_every_stored_figure_of_a_fee_only_exchange(figures, line):
    got = backfill_migration.fees_only_tax_line(rate=10, total=figures["charge_incl_tax"], **figures)
    assert got == (None if line is None else (10, line, figures["tax"]))
