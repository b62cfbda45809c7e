"""In a real browser: a CX agent finds a bank-transfer member and places an exchange for them."""

import re

import pytest

from exchange.models import Exchange
from ssr_points.selectors import points_available


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="ja-JP")
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def close_db_connections():
    """While Playwright's event loop runs, Django's connections are context-local: the ORM
    calls of the test body have their own connection (and PostgreSQL pool), which the test
    database teardown would find still open. Close them in that same context."""
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        connection.close()
        if connection.vendor == "postgresql" and connection.settings_dict.get("OPTIONS", {}).get("pool"):
            connection.close_pool()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_agent_finds_a_bank_transfer_member_and_places_an_exchange_for_them(
    live_server, page, make_staff, guide_bank_member, guide_products
):
    from playwright.sync_api import expect

    agent = make_staff("cx_agent")
    member = guide_bank_member
    reward = guide_products["reward"]

    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", agent.username)
    page.fill("#id_password", "pass-word-123")
    page.click("input[type=submit]")
    expect(page.locator("#content-main")).to_be_visible()

    page.goto(f"{live_server.url}/admin/subscriptions/member/")
    page.fill("#searchbar", "フリコミ")
    page.press("#searchbar", "Enter")
    page.get_by_role("link", name=member.member_number).click()
    expect(page.locator("body")).to_contain_text("500")

    page.click("#place-exchange-link")
    page.fill(f"#id_quantity_{reward.pk}", "1")
    page.click("input[name=review]")
    expect(page.locator("#quote-points")).to_contain_text("42")
    expect(page.locator("#quote-subtotal")).to_contain_text("35,567")
    expect(page.locator("#quote-fee")).to_contain_text("1,400")
    expect(page.locator("#quote-shipping")).to_contain_text("0")
    expect(page.locator("#quote-tax")).to_contain_text("2,873")
    expect(page.locator("#quote-total")).to_contain_text("38,440")
    expect(page.locator("#quote-pv")).to_contain_text("180")

    page.check("#id_agreed")
    page.click("input[name=confirm]")
    expect(page.locator("ul.messagelist")).to_contain_text(re.compile(r"EX-\w+"))
    # The exchange's page: the tax by rate recorded with it.
    expect(page.locator(".field-tax_by_rate")).to_contain_text(
        "8%対象：¥36,900（税込）／¥34,167（税抜）、消費税 ¥2,733"
    )
    expect(page.locator(".field-tax_by_rate")).to_contain_text("10%対象：¥1,540（税込）／¥1,400（税抜）、消費税 ¥140")

    try:
        exchange = Exchange.objects.get(member=member)
        assert (exchange.points, exchange.total, exchange.placed_by_id) == (42, 38440, agent.pk)
        assert points_available(member=member) == 458
    finally:
        close_db_connections()
