"""In a real browser at 1440×900: a member calls asking "why did my points go down?". The agent
finds them by the phone number they read out and answers from the first screen, no scrolling.

The test records the clicks and seconds it took (test-artifacts/cx-member-page.txt) and the
screen (test-artifacts/screens/cx-member-page.png, the picture in docs/admin.md)."""

import datetime as dt
import re
import time
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from backoffice.models import ContactNote
from exchange.services import exchange_place, exchange_request_create
from ssr_points.services import points_adjust, points_grant_for_order
from subscriptions.services import member_create, subscription_save
from tests.backoffice.test_browser import close_db_connections
from tests.factories import MarketFactory, OrderFactory, ProductFactory

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
DESKTOP = {"width": 1440, "height": 900}


@pytest.fixture
def desktop(browser):
    context = browser.new_context(viewport=DESKTOP, locale="ja-JP", timezone_id="Asia/Tokyo")
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def caller(transactional_db, make_staff):
    """Member 100001, 山田 花子, with a year of history; her last decrease is an exchange of a
    shaker placed for her by an agent last week."""
    market = MarketFactory(name="日本")
    sunrise = ProductFactory(
        sku="SUB-SUNRISE", name_ja="サンライズ（30包）", price_incl_tax=24600, pv=Decimal("120"), market=market
    )
    menta = ProductFactory(
        sku="SUB-MENTA", name_ja="メンタバイオティクス", price_incl_tax=12300, pv=Decimal("60"), market=market
    )
    shaker = ProductFactory(
        sku="RW-SHAKER", reward=True, point_cost=60, name_ja="オリジナルシェイカー", tax_rate=10, market=market
    )
    member = member_create(
        market=market,
        member_number="100001",
        name="山田 花子",
        name_kana="ヤマダ ハナコ",
        email="hanako@example.com",
        phone="090-1234-5678",
        password="pass-word-123",
    )
    subscription = subscription_save(member=member, items={sunrise: 1, menta: 1})
    now = timezone.now()
    for months_ago in (11, 8, 5, 2):
        shipped_at = now - dt.timedelta(days=30 * months_ago + 5)
        order = OrderFactory(
            subscription=subscription,
            pv=Decimal("1800"),
            total_incl_tax=36900,
            shipment_date=timezone.localdate(shipped_at),
            created_at=shipped_at - dt.timedelta(hours=20),
            shipped_at=shipped_at,
            months_subscribed=1,
        )
        points_grant_for_order(order=order, now=shipped_at)
    other_agent = make_staff("cx_agent")
    points_adjust(member=member, points=30, reason="配送遅延のお詫び", staff_user=other_agent)
    exchange_place(
        member=member, lines=[(shaker, 1)], ship_now=False, idempotency_key=uuid.uuid4(), staff_user=other_agent
    )
    exchange_request_create(member=member, message="ポイントが減っている理由を知りたい", contact_phone="090-1234-5678")
    ContactNote.objects.create(member=member, staff_user=other_agent, text="交換の内容を確認済み。")
    return member


def in_first_screen(page, selector: str) -> bool:
    """The element is on the screen as it opened: nothing scrolled, its box inside 1440×900."""
    return page.evaluate(
        """(selector) => {
            const el = document.querySelector(selector);
            if (!el || window.scrollY !== 0) return false;
            const box = el.getBoundingClientRect();
            return box.width > 0 && box.top >= 0 && box.bottom <= window.innerHeight && box.right <= window.innerWidth;
        }""",
        selector,
    )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_agent_answers_why_did_my_points_go_down_from_the_first_screen(live_server, desktop, make_staff, caller):
    from playwright.sync_api import expect

    agent = make_staff("cx_agent")
    page = desktop
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", agent.username)
    page.fill("#id_password", "pass-word-123")
    page.click("input[type=submit]")
    expect(page.locator("#content-main")).to_be_visible()
    page.goto(f"{live_server.url}/admin/subscriptions/member/")

    # The call: the member reads out her phone number.
    started = time.monotonic()
    clicks = 0
    page.fill("#searchbar", "09012345678")
    page.press("#searchbar", "Enter")
    clicks += 1  # the search (Enter)
    page.get_by_role("link", name="100001").click()
    clicks += 1  # the member
    last_decrease = page.locator("#cx-timeline tr.cx-decrease").first
    expect(last_decrease).to_be_visible()
    seconds = time.monotonic() - started

    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "screens").mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "screens" / "cx-member-page.png"))

    # Without scrolling: the points, the next expiry and the entry that explains the decrease.
    expect(page.locator("#cx-available")).to_have_text("690 ポイント")
    expect(page.locator("#cx-next-expiry")).to_contain_text(re.compile(r"\d{4}年\d{1,2}月\d{1,2}日まで有効"))
    expect(last_decrease).to_contain_text("オリジナルシェイカー × 1")
    expect(last_decrease).to_contain_text("−60")
    expect(last_decrease.locator(".cx-reference a")).to_have_text(re.compile(r"EX-\w+"))
    expect(last_decrease.locator(".cx-staff")).not_to_be_empty()
    for selector in [
        "#cx-member-number",
        "#cx-phone",
        "#cx-available",
        "#cx-next-expiry",
        "#cx-expiring-soon",
        "#cx-next-shipment",
        "#cx-requests",
        "#cx-timeline tr.cx-decrease",
    ]:
        assert in_first_screen(page, selector), selector
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    (ARTIFACTS / "cx-member-page.txt").write_text(
        f"why did my points go down: {clicks} clicks, {seconds:.2f} s from typing the phone number "
        "to the answer on screen (no scrolling)\n"
    )
    print(f"\nCX answer: {clicks} clicks, {seconds:.2f} s")
    try:
        assert clicks == 2
    finally:
        close_db_connections()
