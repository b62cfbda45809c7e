"""exchange/templatetags/exchange_blocks.py: the tax by rate and the next shipment, as the pages
include them."""

import datetime as dt

from django.template import Context, Template
from django.utils import translation

from exchange.quotes import TaxLine


def tax_lines(lines) -> str:
    return Template("{% load exchange_blocks %}{% tax_lines lines %}").render(Context({"lines": lines}))


def next_shipment(shipment_date, cancel_day) -> str:
    template = Template("{% load exchange_blocks %}{% next_shipment shipment_date cancel_day %}")
    return template.render(Context({"shipment_date": shipment_date, "cancel_day": cancel_day}))


LINES = [TaxLine(8, 39852, 2952), TaxLine(10, 1540, 140)]


def test_a_row_per_tax_rate_in_each_language():
    with translation.override("ja"):
        rows = tax_lines(LINES)
    assert rows.count('<tr class="sub">') == 2
    assert '<th scope="row">うち8%対象 <span class="meta">（¥39,852 税込）</span></th>' in rows
    assert '<td class="num" data-figure="tax-10">¥140</td>' in rows
    with translation.override("en"):
        assert 'of which 10% rate <span class="meta">(¥1,540 incl. tax)</span>' in tax_lines(LINES)
    assert tax_lines([]).strip() == ""


def test_the_next_shipment_with_and_without_a_cancel_day():
    with translation.override("ja"):
        both = next_shipment(dt.date(2026, 12, 10), dt.date(2026, 12, 3))
        ship_only = next_shipment(dt.date(2026, 12, 10), None)
    assert '<dd data-figure="next-shipment">2026年12月10日</dd>' in both
    assert '<dd data-figure="cancel-until">2026年12月3日</dd>' in both
    assert 'class="help"' in both
    assert "cancel-until" not in ship_only and 'class="help"' not in ship_only
    with translation.override("en"):
        assert '<h2 id="next-shipment-title">When it ships</h2>' in next_shipment(dt.date(2026, 12, 10), None)


def test_rewards_that_ship_now_have_no_next_shipment():
    assert next_shipment(None, None).strip() == ""
    assert next_shipment("", "").strip() == ""  # a missing shipment's attributes in the template
