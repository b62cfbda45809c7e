"""Playwright driving Debian's chromium against the live server, on a phone-sized viewport."""

import re
from decimal import Decimal
from pathlib import Path

import pytest

from ssr_points.services import points_adjust
from subscriptions.services import subscription_save
from tests.factories import MarketFactory, MemberFactory, ProductFactory, StaffUserFactory

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screens"
IPHONE_14 = {"width": 390, "height": 844}
IPHONE_SE = {"width": 375, "height": 667}
PASSWORD = "pass-word-123"


@pytest.fixture
def phone(browser, live_server):
    """A fresh phone: new cookies, iPhone 14 viewport, touch, Japanese."""
    contexts = []

    def open_phone(viewport=IPHONE_14, javascript=True):
        context = browser.new_context(
            viewport=viewport,
            device_scale_factor=1,
            is_mobile=True,
            has_touch=True,
            locale="ja-JP",
            timezone_id="Asia/Tokyo",
            java_script_enabled=javascript,
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.base_url = live_server.url
        return page

    yield open_phone
    for context in contexts:
        context.close()


@pytest.fixture
def shop(transactional_db):
    """The guide's world: two subscription products (¥36,900, PV 180) and rewards."""
    market = MarketFactory()
    return {
        "market": market,
        "sunrise": ProductFactory(
            sku="SUB-SUNRISE", name_ja="サンライズ（30包）", name_en="Sunrise", price_incl_tax=24600, pv=Decimal("120")
        ),
        "menta": ProductFactory(
            sku="SUB-MENTA",
            name_ja="メンタバイオティクス",
            name_en="MentaBiotics",
            price_incl_tax=12300,
            pv=Decimal("60"),
        ),
        "trial": ProductFactory(
            sku="RW-TRIAL",
            reward=True,
            point_cost=42,
            name_ja="トライアルパック",
            name_en="Trial pack",
            description_ja="はじめての方に",
            description_en="For first-timers",
        ),
        "shaker": ProductFactory(
            sku="RW-SHAKER", reward=True, point_cost=60, name_ja="オリジナルシェイカー", name_en="Original shaker"
        ),
        "kit": ProductFactory(
            sku="RW-KIT", reward=True, point_cost=250, name_ja="ウェルネスキット", name_en="Wellness kit"
        ),
    }


@pytest.fixture
def demo_member(shop):
    member = MemberFactory(name="山田 花子")
    subscription_save(member=member, items={shop["sunrise"]: 1, shop["menta"]: 1})
    staff = StaffUserFactory()
    points_adjust(member=member, points=300, reason="キャンペーン", staff_user=staff)
    points_adjust(member=member, points=200, reason="お詫び", staff_user=staff)
    return member


def log_in(page, member):
    page.goto(page.base_url + "/login/")
    page.get_by_label("会員番号またはメールアドレス").fill(member.member_number)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url(page.base_url + "/")


def shoot(page, name: str, *, focus: str | None = None) -> Path:
    """Save what the phone shows (``name.png``, the sticky bar where the thumb is) and the whole
    page (``name-full.png``) under test-artifacts/screens/. ``focus`` scrolls an element into view."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-full.png"), full_page=True)
    if focus:
        page.locator(focus).first.evaluate("el => window.scrollTo(0, el.getBoundingClientRect().top + scrollY - 12)")
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    page.evaluate("window.scrollTo(0, 0)")
    return path


def check_page(page):
    """What every page must satisfy: axe wcag2a/wcag2aa clean, no inline script or style (a
    strict CSP is coming), no sideways scrolling, figures on one line, names beside their
    pictures, the current page's link in sight, tap targets of at least 44 px."""
    from axe_playwright_python.sync_playwright import Axe

    inline = page.evaluate(
        """() => [...document.querySelectorAll('script:not([src]), style, [style]')]
            .filter(el => el.tagName !== 'SCRIPT' && el.tagName !== 'STYLE' ? el.getAttribute('style') !== '' : true)
            .map(el => el.outerHTML.slice(0, 120))"""
    )
    assert inline == []  # empty style="" attributes come from the screenshot tooling, not the server
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa"]}})
    assert results.violations_count == 0, results.generate_report()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    # A figure (♥ 18, ¥1,540, 2026年12月15日) is read on one line, never broken across two.
    broken = page.evaluate(
        """() => [...document.querySelectorAll('.figures dd, dd[data-figure]')]
            .filter(dd => dd.offsetParent !== null)
            .filter(dd => {
                const range = document.createRange();
                range.selectNodeContents(dd);
                return new Set([...range.getClientRects()].map(rect => Math.round(rect.top))).size > 1;
            })
            .map(dd => dd.textContent.trim())"""
    )
    assert broken == []
    # A product's name sits beside its picture, however long the line's note.
    below = page.evaluate(
        """() => [...document.querySelectorAll('.line')]
            .filter(line => line.offsetParent !== null)
            .filter(line => line.querySelector('.thumb') && line.querySelector('.product-text'))
            .filter(line => line.querySelector('.product-text').getBoundingClientRect().top
                            >= line.querySelector('.thumb').getBoundingClientRect().bottom)
            .map(line => line.textContent.trim().slice(0, 40))"""
    )
    assert below == []
    # The navigation scrolls sideways on a phone: the current page's link is in sight.
    hidden = page.evaluate(
        """() => {
            const nav = document.querySelector('.mainnav');
            const link = nav && nav.querySelector('[aria-current=page]');
            if (!link) return null;
            const box = nav.getBoundingClientRect(), own = link.getBoundingClientRect();
            return own.left < box.left - 1 || own.right > box.right + 1 ? link.textContent.trim() : null;
        }"""
    )
    assert hidden is None
    tappable = ".btn, button, input:not([type=hidden]), select, summary, .mainnav a, .product"
    small = page.evaluate(
        """(tappable) => [...document.querySelectorAll(tappable)]
            .filter(el => el.offsetParent !== null)
            .map(el => [
                el.outerHTML.slice(0, 80),
                // a checkbox is tapped through its label as well
                Math.max(
                    el.getBoundingClientRect().height,
                    ...[...(el.labels || [])].map(label => label.getBoundingClientRect().height),
                ),
            ])
            .filter(([, height]) => height < 44)""",
        tappable,
    )
    assert small == [], small


def figures(page) -> dict[str, str]:
    cells = page.locator("[data-figure]")
    return {
        cells.nth(i).get_attribute("data-figure"): re.sub(r"\s+", " ", cells.nth(i).inner_text()).strip()
        for i in range(cells.count())
    }


def read(page) -> str:
    """The main content as a member reads it, whitespace collapsed."""
    return re.sub(r"\s+", " ", page.inner_text("main")).strip()
