"""Issue 22 on a phone (390 × 844 and 375 × 667): the reminder to a placed exchange in six taps, the
member's 404, back after done, the payment lines read once, rewards that say what they are and
what they take, the bank-transfer member's picker, and one voice (brand, dates, か月, the icon).
Every page is axe wcag2a/aa clean (``check_page``); screenshots go to test-artifacts/screens/."""

import datetime as dt
import re
import uuid

import pytest
from django.core import mail
from django.core.cache import cache
from django.utils import timezone

from exchange.models import Exchange, ExchangeRequest
from exchange.services import exchange_place
from jobs.services import reminders_run
from ssr_points.services import points_adjust
from subscriptions.models import PaymentMethod
from subscriptions.services import subscription_save
from tests.browser.conftest import IPHONE_14, IPHONE_SE, PASSWORD, check_page, figures, log_in, read, shoot
from tests.browser.test_dead_ends import add_to_cart, agree_and_save
from tests.factories import MemberFactory, ProductFactory, StaffUserFactory

pytestmark = pytest.mark.browser
PHONES = pytest.mark.parametrize("viewport", [IPHONE_14, IPHONE_SE], ids=["390x844", "375x667"])
AGREEMENT = "上記の内容を確認し、ポイント交換に同意します。"


def size(viewport) -> str:
    return f"{viewport['width']}x{viewport['height']}"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


# -- from the reminder to a placed exchange --------------------------------------------------------


@PHONES
def test_from_the_reminder_email_to_a_placed_exchange_in_six_taps(phone, shop, settings, viewport):
    member = MemberFactory(name="山田 花子")
    subscription_save(member=member, items={shop["sunrise"]: 1, shop["menta"]: 1})
    staff = StaffUserFactory()
    now = timezone.now()
    points_adjust(member=member, points=30, reason="キャンペーン", staff_user=staff, now=now - dt.timedelta(days=345))
    points_adjust(member=member, points=200, reason="お詫び", staff_user=staff, now=now - dt.timedelta(days=20))
    page = phone(viewport=viewport)
    settings.SITE_URL = page.base_url  # the emails link to the live server
    reminders_run()
    (email,) = mail.outbox
    link = re.findall(r"https?://\S+", email.body)[0]
    assert "トライアルパックを交換する" in email.body  # 30 expiring: the cheapest reward that uses them all

    taps = []

    def tap(locator, name):
        locator.click()
        taps.append(name)

    page.goto(link)  # 1: the link in the email; the session has ended, so the login comes first
    taps.append("the email's link")
    page.wait_for_url(re.compile(r"/login/\?next=/exchange/products/\d+/$"))
    check_page(page)
    page.get_by_label("会員番号またはメールアドレス").fill(member.member_number)
    page.get_by_label("パスワード").fill(PASSWORD)
    tap(page.get_by_role("button", name="ログイン"), "ログイン")
    page.wait_for_url(link)  # landed where the link pointed: the quantity step of the suggestion
    assert "トライアルパック" in read(page)
    shoot(page, f"reminder-01-quantity-{size(viewport)}")
    check_page(page)
    tap(page.get_by_role("button", name="セーブ"), "セーブ")
    page.wait_for_url("**/exchange/bundle/")
    check_page(page)
    tap(page.get_by_role("link", name="続行"), "続行")
    page.wait_for_url("**/exchange/confirm/")
    check_page(page)
    tap(page.get_by_label(AGREEMENT), "the agreement")
    tap(page.get_by_role("button", name="変更を保存"), "変更を保存")
    page.wait_for_url("**/exchange/done/*/")
    shoot(page, f"reminder-02-done-{size(viewport)}")
    check_page(page)
    assert len(taps) <= 6, taps
    exchange = Exchange.objects.get(member=member)
    assert [(line.product.sku, line.quantity) for line in exchange.lines.all()] == [("RW-TRIAL", 1)]


# -- a page that does not exist ----------------------------------------------------------------------------


@PHONES
@pytest.mark.parametrize("debug", [False, True], ids=["production", "demo-with-debug"])
def test_a_stale_link_is_a_japanese_page_with_the_way_back_and_english_when_chosen(
    phone, demo_member, shop, settings, viewport, debug
):
    settings.DEBUG = debug
    other = MemberFactory()
    subscription_save(member=other, items={shop["sunrise"]: 1})
    points_adjust(member=other, points=100, reason="テスト", staff_user=StaffUserFactory())
    page = phone(viewport=viewport)
    log_in(page, demo_member)
    theirs = exchange_place(member=other, lines=[(shop["trial"], 1)], ship_now=False, idempotency_key=uuid.uuid4())
    response = page.goto(f"{page.base_url}/exchange/history/{theirs.number}/")
    assert response.status == 404
    assert page.title() == "ページが見つかりません | SSRリワード"
    assert page.evaluate("document.documentElement.lang") == "ja"
    text = read(page)
    assert "お探しのページは見つかりませんでした" in text and theirs.number not in text
    assert "Not Found" not in page.content() and "URLconf" not in page.content()
    shoot(page, f"404-01-ja-{'debug' if debug else 'prod'}-{size(viewport)}")
    check_page(page)
    page.get_by_role("button", name="English").click()  # the footer's language buttons
    page.wait_for_load_state()
    assert page.title() == "Page not found | SSR Rewards"
    assert "This page was not found" in read(page)
    check_page(page)
    page.get_by_role("link", name="All my exchanges").click()
    page.wait_for_url("**/exchange/history/")


# -- back after done, when the agreement was first forgotten --------------------------------------------


@PHONES
def test_back_after_done_shows_the_received_page_not_the_cached_error(phone, demo_member, shop, viewport):
    page = phone(viewport=viewport)
    log_in(page, demo_member)
    add_to_cart(page)
    page.get_by_role("link", name="続行").click()
    page.wait_for_url("**/exchange/confirm/")
    page.get_by_role("button", name="変更を保存").click()  # forgot the agreement
    page.wait_for_load_state()
    assert "まだ保存されていません" in read(page)
    agree_and_save(page)
    number = Exchange.objects.get(member=demo_member).number
    page.go_back()
    page.wait_for_load_state()
    text = read(page)
    assert "このポイント交換は受け付け済みです" in text and number in text
    assert "まだ保存されていません" not in text and "変更を保存" not in text
    shoot(page, f"back-after-error-01-received-{size(viewport)}")
    check_page(page)
    page.go_back()  # and the confirmation before the error: received as well
    page.wait_for_load_state()
    assert "このポイント交換は受け付け済みです" in read(page)
    assert Exchange.objects.filter(member=demo_member).count() == 1


# -- the payment lines -----------------------------------------------------------------------------------


def payment_rows(page) -> list[str]:
    rows = page.locator("section[aria-labelledby=payment-title] table tr, #figures-title ~ table tr")
    return [re.sub(r"\s+", " ", rows.nth(i).inner_text()).strip() for i in range(rows.count())]


@PHONES
def test_apply_now_reads_the_fee_once_subtotal_and_its_part_then_one_to_six(phone, demo_member, shop, viewport):
    page = phone(viewport=viewport)
    log_in(page, demo_member)
    page.goto(page.base_url + "/exchange/?ship_now=1")
    page.get_by_role("link", name=re.compile("トライアルパック")).click()
    page.get_by_label("個数").fill("5")  # 210 points: three fee units
    page.get_by_role("button", name="セーブ").click()
    page.get_by_role("link", name="続行").click()
    page.wait_for_url("**/exchange/confirm/")
    numbers = page.locator("section[aria-labelledby=payment-title] .line-no").all_inner_texts()
    assert numbers == ["1", "2", "3", "4", "5", "6"]
    found = figures(page)
    assert (found["subtotal"], found["exchange-fee"], found["total"]) == ("¥4,200", "¥4,200", "¥5,720")
    fee_row = page.locator("tr", has=page.locator("[data-figure=exchange-fee]"))
    assert "うち定期購入特典交換手数料" in fee_row.inner_text()
    indent = fee_row.locator("th").evaluate("th => parseFloat(getComputedStyle(th).paddingLeft)")
    subtotal_indent = (
        page.locator("tr", has=page.locator("[data-figure=subtotal]"))
        .locator("th")
        .evaluate("th => parseFloat(getComputedStyle(th).paddingLeft)")
    )
    assert indent > subtotal_indent  # ③ reads as part of ②
    assert found["check"] == "計算：②¥4,200 ＋ ④¥1,000 ＋ ⑤¥520 ＝ ⑥¥5,720（③は②に含まれています）"
    legend = page.locator("section[aria-labelledby=payment-title] .legend").inner_text()
    assert "②に含まれており、別に請求されることはありません" in legend
    shoot(page, f"lines-01-apply-now-{size(viewport)}", focus="#payment-title")
    check_page(page)
    agree_and_save(page)
    page.goto(page.base_url + f"/exchange/history/{Exchange.objects.get().number}/")
    detail = read(page)
    assert "うち定期購入特典交換手数料" in detail and "（③は②に含まれています）" in detail
    check_page(page)


# -- rewards: what it is and what it takes, before the tap ---------------------------------------------


@PHONES
def test_each_reward_says_what_it_is_and_one_out_of_reach_cannot_be_tapped(phone, demo_member, shop, viewport):
    ProductFactory(
        sku="RW-BIG", reward=True, point_cost=650, name_ja="プレミアムセット", description_ja="特別な詰め合わせ"
    )
    page = phone(viewport=viewport)
    log_in(page, demo_member)
    page.goto(page.base_url + "/exchange/")
    trial = page.get_by_role("link", name=re.compile("トライアルパック"))
    assert "はじめての方に" in trial.inner_text()
    assert page.get_by_role("link", name=re.compile("プレミアムセット")).count() == 0
    big = page.locator(".product-short", has_text="プレミアムセット")
    assert "特別な詰め合わせ" in big.inner_text() and "あと150pt必要" in big.inner_text()
    shoot(page, f"catalogue-22-out-of-reach-{size(viewport)}")
    check_page(page)
    big.click()  # nothing to follow
    assert page.url.endswith("/exchange/")
    trial.click()
    page.get_by_label("個数").fill("12")  # 504 points > 500
    page.get_by_role("button", name="1個増やす").click()
    page.wait_for_load_state()
    assert "ポイントが足りません" in read(page)
    assert page.get_by_role("button", name="セーブ").is_disabled()
    check_page(page)
    page.get_by_label("個数").fill("11")
    page.get_by_role("button", name="再計算").click()
    page.wait_for_load_state()
    assert page.get_by_role("button", name="セーブ").is_enabled()


# -- bank transfer: the catalogue with points, rewards picked for the request --------------------------


@PHONES
def test_a_bank_transfer_member_picks_rewards_and_quantities_for_the_request(phone, shop, viewport):
    member = MemberFactory(payment_method=PaymentMethod.BANK_TRANSFER, name="佐藤 太郎")
    subscription_save(member=member, items={shop["sunrise"]: 1})
    points_adjust(member=member, points=150, reason="キャンペーン", staff_user=StaffUserFactory())
    page = phone(viewport=viewport)
    log_in(page, member)
    page.get_by_role("navigation", name="バックオフィス").get_by_role("link", name="交換特典").click()
    page.wait_for_url("**/exchange/")
    assert figures(page)["available"] == "♥ 150"
    kit = page.locator(".product-row", has_text="ウェルネスキット")
    assert "あと100pt必要" in kit.inner_text() and kit.locator("input").count() == 0
    shoot(page, f"bank-22-01-picker-{size(viewport)}", focus="#pick-title")
    check_page(page)
    page.get_by_label("トライアルパック").fill("3")  # 126 points
    page.get_by_label("オリジナルシェイカー").fill("1")  # + 60 = 186 > 150 available
    page.get_by_role("button", name="カスタマーエクスペリエンスに依頼を送信").click()
    page.wait_for_load_state()
    assert "ポイントが足りません" in read(page) and not ExchangeRequest.objects.exists()
    assert page.get_by_label("トライアルパック").input_value() == "3"
    check_page(page)
    page.get_by_label("オリジナルシェイカー").fill("0")
    page.get_by_label("折り返しのお電話番号（任意）").fill("090-1111-2222")
    page.get_by_role("button", name="カスタマーエクスペリエンスに依頼を送信").click()
    page.wait_for_load_state()
    assert "依頼を送信しました" in read(page)
    assert "トライアルパック × 3 (♥ 126)" in read(page)
    shoot(page, f"bank-22-02-sent-{size(viewport)}")
    check_page(page)
    request = ExchangeRequest.objects.get()
    assert [(line["sku"], line["quantity"], line["points"]) for line in request.lines] == [("RW-TRIAL", 3, 126)]


# -- one voice: brand, dates, か月, the icon ----------------------------------------------------------------


@PHONES
def test_one_brand_one_date_format_and_no_request_answered_404(phone, demo_member, shop, viewport):
    page = phone(viewport=viewport)
    missing = []
    page.on("response", lambda response: missing.append(response.url) if response.status == 404 else None)
    log_in(page, demo_member)
    assert page.title().endswith("| SSRリワード") and page.locator(".brand").inner_text() == "SSRリワード"
    add_to_cart(page)
    page.get_by_role("link", name="続行").click()
    agree_and_save(page)
    page.goto(page.base_url + f"/exchange/history/{Exchange.objects.get().number}/")
    placed_at = page.locator("dt", has_text="受付日時").locator("xpath=following-sibling::dd").inner_text()
    assert re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日 \d{1,2}:\d{2}", placed_at), placed_at
    check_page(page)
    page.goto(page.base_url + "/program/")
    assert "か月" in read(page) and not re.search("[ヶケカヵ]月", read(page))
    check_page(page)
    icon = page.goto(page.base_url + "/favicon.ico")
    assert icon.status == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert missing == []
