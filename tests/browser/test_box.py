"""One box, one bundle, on a phone (390×844 and 375×667, axe clean): a member who comes back
before the cut-off sees what is in the box on home, the catalogue, the bundle and the confirmation,
adds to it and agrees to the whole box with one exchange fee; then takes a reward out."""

import pytest

from exchange.models import Exchange
from ssr_points.selectors import points_available
from tests.browser.conftest import IPHONE_14, IPHONE_SE, check_page, figures, log_in, read, shoot

pytestmark = pytest.mark.browser


def save_and_confirm(page, product_name: str, *, name: str, shots: bool):
    page.get_by_role("navigation", name="バックオフィス").get_by_role("link", name="交換特典").click()
    page.wait_for_url("**/exchange/")
    if shots:
        shoot(page, f"{name}-catalogue", focus=".box")
        check_page(page)
    page.get_by_role("link", name=product_name).click()
    page.get_by_role("button", name="セーブ").click()
    page.wait_for_url("**/exchange/bundle/")
    if shots:
        shoot(page, f"{name}-bundle", focus="#cart-title")
        check_page(page)
    page.get_by_role("link", name="続行").click()
    page.wait_for_url("**/exchange/confirm/")
    if shots:
        shoot(page, f"{name}-confirm", focus="#payment-title")
        check_page(page)
    page.get_by_label("上記の内容を確認し、ポイント交換に同意します。").check()
    page.get_by_role("button", name="変更を保存").click()
    page.wait_for_url("**/exchange/done/*/")


@pytest.mark.parametrize("viewport", [IPHONE_14, IPHONE_SE], ids=["390x844", "375x667"])
def test_the_member_adds_to_the_box_agrees_to_the_whole_box_and_takes_a_reward_out(
    phone, demo_member, shop, viewport, assert_ledger_ok
):
    page = phone(viewport)
    log_in(page, demo_member)
    name = f"box-{viewport['width']}"
    save_and_confirm(page, "トライアルパック", name=f"{name}-1", shots=False)
    box = Exchange.objects.get(member=demo_member)

    page.get_by_role("link", name="定期購入特典に戻る").click()
    page.wait_for_url(page.base_url + "/")
    home = read(page)
    assert "お届けのボックス" in home and "トライアルパック × 1" in home
    assert figures(page)["box-points"] == "♥ 42"
    shoot(page, f"{name}-home", focus=".box")
    check_page(page)

    page.get_by_role("navigation", name="バックオフィス").get_by_role("link", name="交換特典").click()
    assert "ボックスに × 1" in read(page)
    page.get_by_role("link", name="オリジナルシェイカー").click()
    page.get_by_role("button", name="セーブ").click()
    page.wait_for_url("**/exchange/bundle/")
    bundle = read(page)
    assert "ボックスに追加" in bundle and "ボックスに入っています" in bundle and "4 アイテム" in bundle
    shoot(page, f"{name}-bundle", focus="#cart-title")
    check_page(page)
    page.get_by_role("link", name="続行").click()
    page.wait_for_url("**/exchange/confirm/")
    found = figures(page)
    # 42 + 60 = 102 points: two started hundreds, one fee line for the whole box; ¥36,900 counted once.
    assert (found["points"], found["exchange-fee"], found["total"]) == ("♥ 102", "¥2,800", "¥39,980")
    assert (found["points-before"], found["points-after-change"], found["points-delta"]) == ("♥ 42", "♥ 102", "♥ 60")
    shoot(page, f"{name}-confirm", focus="#box-change-title")
    check_page(page)
    page.get_by_label("上記の内容を確認し、ポイント交換に同意します。").check()
    page.get_by_role("button", name="変更を保存").click()
    page.wait_for_url(f"**/exchange/done/{box.number}/")
    assert "ボックスを変更しました" in read(page)
    check_page(page)
    box.refresh_from_db()
    assert (box.points, box.fee_units, box.total, box.revision) == (102, 2, 39980, 2)

    # Take the trial pack out: its 42 points come back; the box keeps one fee unit.
    page.goto(page.base_url + "/exchange/bundle/")
    page.get_by_role("button", name="トライアルパックを削除").click()
    page.wait_for_url("**/exchange/bundle/")
    assert "ボックスから取り出す特典" in read(page)
    page.get_by_role("link", name="続行").click()
    page.wait_for_url("**/exchange/confirm/")
    assert figures(page)["points-delta"] == "♥ 42" and "残高に戻るポイント" in read(page)
    page.get_by_label("上記の内容を確認し、ポイント交換に同意します。").check()
    page.get_by_role("button", name="変更を保存").click()
    page.wait_for_url(f"**/exchange/done/{box.number}/")
    box.refresh_from_db()
    assert (box.points, box.fee_units, box.revision) == (60, 1, 3)
    assert points_available(member=demo_member) == 500 - 60
    assert Exchange.objects.filter(member=demo_member).count() == 1
    assert_ledger_ok()
