"""Issue 23, a CX agent's call, in a real browser at 1440×900 (Debian's chromium, Playwright):
the header's member search finds the caller however they say it — kana in hiragana, the name
without its space in either order, an exchange number with or without 「EX-」 — and opens their page;
no column heading wraps; the adjustment's review refuses what the confirmation would refuse before
it offers a confirm button; the place-for-member review never shows 「¥¥」."""

import datetime as dt
import re

import pytest

from exchange.models import Exchange
from ssr_points.models import Entry
from ssr_points.selectors import points_available
from tests.backoffice.test_browser import close_db_connections

# The headings of these tables with a text the browser broke over more than one line (the line
# boxes of each of their texts; a sorted column's priority digit is a text of its own).
HEADINGS_ON_ONE_LINE = """(selector) => [...document.querySelectorAll(selector)].filter((th) => {
    const walker = document.createTreeWalker(th, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
        if (!walker.currentNode.textContent.trim()) continue;
        const range = document.createRange();
        range.selectNodeContents(walker.currentNode);
        const tops = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
        if (tops.size > 1) return true;
    }
    return false;
}).map((th) => th.textContent.trim())"""


def log_in(page, live_server, user):
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pass-word-123")
    page.click("input[type=submit]")
    expect(page.locator("#content-main")).to_be_visible()


def header_search(page, term):
    page.fill("#member-search-q", term)
    page.press("#member-search-q", "Enter")
    page.wait_for_load_state()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_header_search_finds_the_caller_however_they_say_it_and_no_heading_wraps(
    live_server,
    desktop,
    make_staff,
    caller,
):
    from django.utils import timezone
    from playwright.sync_api import expect

    from backoffice.models import ContactNote
    from jobs.models import JobRun

    page = desktop
    supervisor = make_staff("cx_supervisor")
    log_in(page, live_server, supervisor)
    # Long text in the wide columns leaves the narrow ones little room.
    ContactNote.objects.create(member=caller, staff_user=supervisor, text="配送状況の確認。" * 40)
    now = timezone.now()
    JobRun.objects.create(
        kind=JobRun.Kind.EXPIRY, status=JobRun.Status.SUCCEEDED, cutoff=now, started_at=now, finished_at=now
    )
    stale = now - dt.timedelta(hours=3)  # a run a dead worker left: the longest text of the list
    JobRun.objects.create(kind=JobRun.Kind.REMINDERS, cutoff=stale, started_at=stale, heartbeat_at=stale)
    exchange_number = Exchange.objects.get(member=caller).number
    member_url = re.compile(rf"/admin/subscriptions/member/{caller.pk}/change/$")
    for term in [
        "はなこやまだ",
        "やまだ はなこ",
        "花子山田",
        "花子 山田",
        exchange_number,
        exchange_number[3:].lower(),
    ]:
        page.goto(f"{live_server.url}/admin/exchange/exchange/")  # anywhere in the admin
        header_search(page, term)
        expect(page).to_have_url(member_url)
        expect(page.locator("#cx-member-number")).to_have_text("100001")

    assert page.evaluate(HEADINGS_ON_ONE_LINE, "#cx-timeline thead th") == []
    # The exchange is one row of the timeline, with the points it took.
    expect(page.locator(f"#cx-timeline .cx-reference a:text-is('{exchange_number}')")).to_have_count(1)
    for url in [
        "/admin/subscriptions/member/?q=山田",
        "/admin/jobs/jobrun/",
        "/admin/ssr_points/lot/",
        "/admin/ssr_points/entry/",
        "/admin/exchange/exchange/",
        "/admin/exchange/exchangerequest/",
    ]:
        page.goto(f"{live_server.url}{url}")
        assert page.evaluate(HEADINGS_ON_ONE_LINE, "#result_list thead th") == [], url
    close_db_connections()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_adjustments_review_refuses_before_it_offers_a_confirm_button(
    live_server,
    desktop,
    make_staff,
    caller,
):
    from playwright.sync_api import expect

    page = desktop
    log_in(page, live_server, make_staff("cx_agent"))
    available = points_available(member=caller)
    adjust_url = f"{live_server.url}/admin/subscriptions/member/{caller.pk}/adjust-points/"
    confirm = page.locator("input[name=confirm]")

    def review(points):
        page.goto(adjust_url)
        page.fill("#id_points", str(points))
        page.fill("#id_reason", "お詫び")
        page.click("input[name=preview]")
        page.wait_for_load_state()

    for points, said in [
        (1_000_001, "1,000,000"),  # beyond ±1,000,000
        (-(available + 1), f"{available:,}"),  # the balance would go below zero
        (1001, "1,000"),  # above the agent's per-adjustment limit
    ]:
        review(points)
        expect(page.locator("#content")).to_contain_text(said)
        expect(confirm).to_have_count(0)
    assert not Entry.objects.filter(member=caller, kind="adjustment", points__in=[1001, -(available + 1)]).exists()

    for _ in range(3):  # up to the daily cap of 3,000, then refused at the review
        review(1000)
        page.click("input[name=confirm]")
        expect(page.locator(".messagelist")).to_contain_text("+1,000")
    review(1)
    expect(page.locator(".messagelist")).to_contain_text("3,000")
    expect(confirm).to_have_count(0)

    review(-30)  # within everything: the confirmation, then done
    expect(page.locator(".ssr-confirm")).to_contain_text("−30")
    page.click("input[name=confirm]")
    expect(page.locator(".messagelist")).to_contain_text("-30")
    assert points_available(member=caller) == available + 3000 - 30
    close_db_connections()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_place_for_member_review_shows_money_with_one_yen_sign(
    live_server,
    desktop,
    make_staff,
    caller,
):
    from playwright.sync_api import expect

    from subscriptions.models import Product

    page = desktop
    log_in(page, live_server, make_staff("cx_agent"))
    shaker = Product.objects.get(sku="RW-SHAKER")
    page.goto(f"{live_server.url}/admin/exchange/exchange/place-for/{caller.pk}/")
    page.fill(f"#id_quantity_{shaker.pk}", "1")
    page.click("input[name=review]")
    expect(page.locator("#quote-lines caption")).to_contain_text("¥36,900（税込）")
    assert "¥¥" not in page.locator("#content").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    close_db_connections()
