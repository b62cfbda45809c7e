"""The member guide on a phone, end to end: bundled, apply now, bank transfer, double tap."""

import pytest

from exchange.models import Exchange, ExchangeRequest
from ssr_points.models import Entry
from ssr_points.selectors import points_available
from subscriptions.models import PaymentMethod
from subscriptions.services import subscription_save
from tests.browser.conftest import IPHONE_SE, check_page, figures, log_in, read, shoot
from tests.factories import MemberFactory

pytestmark = pytest.mark.browser


def go_to_confirmation(page, shop, *, screenshots: str | None = None):
    """Steps 1–3 of the guide: 交換特典 → product → quantity 「セーブ」 → bundle 「続行」."""
    page.get_by_role("navigation", name="バックオフィス").get_by_role("link", name="交換特典").click()
    page.wait_for_url("**/exchange/")
    if screenshots:
        shoot(page, f"{screenshots}-03-catalogue")
        check_page(page)
    page.get_by_role("link", name="トライアルパック").click()
    page.wait_for_url("**/exchange/products/*/")
    assert "あと58ポイントまでは同じ手数料です" in read(page)
    if screenshots:
        shoot(page, f"{screenshots}-04-quantity")
        check_page(page)
    page.get_by_role("button", name="セーブ").click()
    page.wait_for_url("**/exchange/bundle/")
    if screenshots:
        shoot(page, f"{screenshots}-05-bundle", focus="#cart-title")
        check_page(page)
    page.get_by_role("link", name="続行").click()
    page.wait_for_url("**/exchange/confirm/")


def test_the_whole_bundled_flow_as_in_the_guide(phone, demo_member, shop, assert_ledger_ok):
    page = phone()
    page.goto(page.base_url + "/login/")
    shoot(page, "bundled-01-login")
    check_page(page)
    log_in(page, demo_member)
    assert "♥ 500" in read(page)
    shoot(page, "bundled-02-home")
    check_page(page)

    page.get_by_role("navigation", name="バックオフィス").get_by_role("link", name="交換特典").click()
    page.get_by_role("link", name="トライアルパック").click()
    page.get_by_label("個数").fill("1")
    page.get_by_role("button", name="1個増やす").click()
    assert page.get_by_label("個数").input_value() == "2"
    assert "♥ 84" in read(page)
    page.get_by_role("button", name="1個減らす").click()
    assert page.get_by_label("個数").input_value() == "1"
    page.goto(page.base_url + "/")

    go_to_confirmation(page, shop, screenshots="bundled")
    page.go_back()
    bundle_text = read(page)
    assert "3 アイテム" in bundle_text and "¥36,900" in bundle_text and "PV: 180.00" in bundle_text
    page.go_forward()
    page.wait_for_url("**/exchange/confirm/")
    found = figures(page)
    # The bundled exchange's shipment date and cancel cut-off (issue 11 item 10; test_dead_ends.py).
    assert found.pop("next-shipment") and found.pop("cancel-until")
    assert found == {
        "points": "♥ 42",
        "subtotal": "¥35,567",
        "exchange-fee": "¥1,400",
        "shipping": "¥0",
        "tax": "¥2,873",
        "tax-8": "¥2,733",
        "tax-10": "¥140",
        "total": "¥38,440",
        "pv": "180",
        # issue 22: the sum that makes the total, ③ read as part of ②
        "check": "計算：②¥35,567 ＋ ④¥0 ＋ ⑤¥2,873 ＝ ⑥¥38,440（③は②に含まれています）",
    }
    assert "3 アイテム" in read(page)
    shoot(page, "bundled-06-confirm", focus="#payment-title")
    check_page(page)

    page.get_by_role("button", name="変更を保存").click()  # without the agreement
    page.wait_for_load_state()
    assert "チェックボックスにチェック" in read(page)
    assert not Exchange.objects.exists()
    check_page(page)

    page.get_by_label("上記の内容を確認し、ポイント交換に同意します。").check()
    page.get_by_role("button", name="変更を保存").click()
    page.wait_for_url("**/exchange/done/*/")
    exchange = Exchange.objects.get(member=demo_member)
    done_text = read(page)
    assert "お疲れ様でした" in done_text and "製品到着をお待ちください" in done_text and exchange.number in done_text
    shoot(page, "bundled-07-done")
    check_page(page)

    page.get_by_role("link", name="この交換を見る").click()
    shoot(page, "bundled-08-detail")
    check_page(page)
    page.get_by_role("link", name="このポイント交換をキャンセル").click()
    page.wait_for_url("**/cancel/")
    check_page(page)
    page.get_by_role("button", name="はい、キャンセルします").click()
    page.wait_for_load_state()
    assert "42ポイントが戻りました" in read(page)
    assert points_available(member=demo_member) == 500
    page.get_by_role("navigation", name="バックオフィス").get_by_role("link", name="定期購入特典").click()
    assert f"ポイント交換 {exchange.number} のキャンセルによる返還" in read(page)
    check_page(page)
    assert_ledger_ok()


def test_apply_now_on_a_small_phone(phone, demo_member, shop):
    page = phone(viewport=IPHONE_SE)
    log_in(page, demo_member)
    page.get_by_role("link", name="今すぐ申し込む").click()
    page.wait_for_url("**/exchange/?ship_now=1")
    assert "出荷事務手数料 ¥1,100（税込）が発生します" in read(page)
    shoot(page, "apply-now-03-catalogue")
    check_page(page)
    page.get_by_role("link", name="トライアルパック").click()
    page.get_by_role("button", name="セーブ").click()
    page.wait_for_url("**/exchange/bundle/")
    assert "1 アイテム" in read(page)
    assert page.get_by_role("button", name="今すぐ申し込む").get_attribute("aria-pressed") == "true"
    shoot(page, "apply-now-05-bundle")
    check_page(page)
    page.get_by_role("link", name="続行").click()
    page.wait_for_url("**/exchange/confirm/")
    assert "出荷事務手数料 ¥1,100（税込）が発生します" in read(page)
    found = figures(page)
    assert (found["shipping"], found["total"], found["pv"]) == ("¥1,000", "¥2,640", "0")
    shoot(page, "apply-now-06-confirm", focus=".note-fee")
    check_page(page)
    page.get_by_label("上記の内容を確認し、ポイント交換に同意します。").check()
    page.get_by_role("button", name="変更を保存").click()
    page.wait_for_url("**/exchange/done/*/")
    assert Exchange.objects.get(member=demo_member).ship_now is True
    assert "今すぐ申し込む" in read(page)


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_a_double_tap_on_save_changes_places_one_exchange(phone, demo_member, shop, javascript, assert_ledger_ok):
    page = phone(javascript=javascript)
    log_in(page, demo_member)
    go_to_confirmation(page, shop)
    page.get_by_label("上記の内容を確認し、ポイント交換に同意します。").check()
    page.get_by_role("button", name="変更を保存").dblclick()
    page.wait_for_url("**/exchange/done/*/")
    page.reload()  # and a refresh of the done page
    assert "お疲れ様でした" in read(page)
    page.go_back()  # back to the confirmation, and tap again
    page.wait_for_load_state()
    assert Exchange.objects.filter(member=demo_member).count() == 1
    assert Entry.objects.filter(member=demo_member, kind=Entry.Kind.REDEMPTION).count() == 1
    assert points_available(member=demo_member) == 458
    assert_ledger_ok()


def test_two_tabs_confirming_at_once_place_one_exchange(phone, demo_member, shop):
    first = phone()
    log_in(first, demo_member)
    go_to_confirmation(first, shop)
    second = first.context.new_page()
    second.goto(first.url)
    for page in (first, second):
        page.get_by_label("上記の内容を確認し、ポイント交換に同意します。").check()
    first.get_by_role("button", name="変更を保存").click()
    first.wait_for_url("**/exchange/done/*/")
    second.get_by_role("button", name="変更を保存").click()
    second.wait_for_url("**/exchange/done/*/")
    assert second.url == first.url  # the same exchange: both tabs confirmed the cart's key
    assert Exchange.objects.filter(member=demo_member).count() == 1


def test_the_bank_transfer_member_reaches_customer_experience(phone, shop):
    member = MemberFactory(payment_method=PaymentMethod.BANK_TRANSFER, name="佐藤 太郎")
    subscription_save(member=member, items={shop["sunrise"]: 1})
    page = phone()
    log_in(page, member)
    page.get_by_role("navigation", name="バックオフィス").get_by_role("link", name="交換特典").click()
    text = read(page)
    assert "カスタマーエクスペリエンスまでご連絡ください" in text
    assert page.get_by_role("link", name="電話する 03-4588-9520").get_attribute("href") == "tel:03-4588-9520"
    assert page.get_by_role("link", name="メールする cs.jp@example.com").is_visible()
    shoot(page, "bank-transfer-01-cx")
    check_page(page)
    page.get_by_role("button", name="カスタマーエクスペリエンスに依頼を送信").click()  # empty: a message
    page.wait_for_load_state()
    check_page(page)
    assert not ExchangeRequest.objects.exists()
    page.get_by_label("カスタマーエクスペリエンスへのメッセージ（任意）").fill(
        "トライアルパックを1個、次回の定期購入に同梱してください。"
    )
    page.get_by_label("折り返しのお電話番号（任意）").fill("090-1111-2222")
    page.get_by_role("button", name="カスタマーエクスペリエンスに依頼を送信").click()
    page.wait_for_load_state()
    assert "依頼を送信しました" in read(page)
    shoot(page, "bank-transfer-02-sent")
    assert ExchangeRequest.objects.get().member == member
    page.get_by_role("navigation", name="バックオフィス").get_by_role("link", name="定期購入", exact=True).click()
    assert "カスタマーエクスペリエンス" in read(page)
    shoot(page, "bank-transfer-03-subscription")
    check_page(page)


def test_a_new_member_adds_a_subscription_before_exchanging(phone, shop):
    member = MemberFactory()
    page = phone()
    log_in(page, member)
    page.get_by_role("navigation", name="バックオフィス").get_by_role("link", name="交換特典").click()
    page.wait_for_url("**/subscription/")
    assert "定期購入が必要です" in read(page)
    page.get_by_label("サンライズ（30包）").fill("1")
    page.get_by_role("button", name="保存").click()
    page.wait_for_load_state()
    assert "定期購入を保存しました" in read(page)
    shoot(page, "subscription-01-saved")
    check_page(page)


def test_the_program_page_and_english(phone, demo_member):
    page = phone()
    log_in(page, demo_member)
    page.get_by_role("link", name="詳細はこちら：定期購入特典プログラム").click()
    assert page.locator(".qr-code svg").is_visible()
    shoot(page, "program-01")
    check_page(page)
    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    assert "Subscription rewards program" in read(page)
    page.get_by_role("navigation", name="Back office").get_by_role("link", name="Subscription rewards").click()
    assert "Available points" in read(page)
    shoot(page, "english-02-home")
    check_page(page)


def test_in_english_on_a_small_phone_the_navigation_shows_the_current_page(phone, demo_member):
    """English labels are wider than a 375 px phone: the navigation scrolls sideways, and each page
    shows its own link in it (check_page holds it on every page)."""
    page = phone(viewport=IPHONE_SE)
    log_in(page, demo_member)
    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    nav = page.get_by_role("navigation", name="Back office")
    assert page.evaluate(
        "() => { const n = document.querySelector('.mainnav'); return n.scrollWidth > n.clientWidth; }"
    )
    for name, path in (("My exchanges", "/exchange/history/"), ("Subscription", "/subscription/")):
        nav.get_by_role("link", name=name, exact=True).click()
        page.wait_for_url(f"**{path}")
        link = nav.get_by_role("link", name=name, exact=True)
        assert link.get_attribute("aria-current") == "page"
        box, own = nav.bounding_box(), link.bounding_box()
        assert box["x"] <= own["x"] and own["x"] + own["width"] <= box["x"] + box["width"] + 1
        check_page(page)
