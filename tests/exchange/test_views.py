"""The exchange wizard through its views: the guide's steps, and every way to get it wrong."""

import datetime as dt
import os
import re
import uuid
import zoneinfo
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from backoffice.management.commands.seed_demo import DEMO_PASSWORD
from exchange.cart import SESSION_KEY, Cart
from exchange.models import Exchange, ExchangeRequest
from ssr_points.models import Entry
from ssr_points.selectors import points_available
from ssr_points.services import points_claw_back_order, points_grant_for_order, points_redeem
from subscriptions.models import Member, PaymentMethod, Product
from subscriptions.services import product_save, subscription_save
from tests.factories import (
    MarketFactory,
    MemberFactory,
    OrderFactory,
    ProductFactory,
    StaffUserFactory,
    SubscriptionFactory,
)


def text(response) -> str:
    """The page as a member reads it: tags dropped, whitespace collapsed."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def figure(response, name: str) -> str:
    match = re.search(rf'data-figure="{name}">([^<]*)<', response.content.decode())
    assert match, f"no figure {name}"
    return match.group(1).strip()


def hidden(response, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', response.content.decode()).group(1)


@pytest.fixture
def client_of(client):
    def log_in(member):
        client.force_login(member.user)
        return client

    return log_in


@pytest.fixture
def guide_client(client_of, guide_member):
    return client_of(guide_member)


def add_to_cart(client, product, quantity=1):
    response = client.post(reverse("exchange:quantity", args=[product.pk]), {"quantity": str(quantity)})
    assert response.status_code == 302, text(response)
    return response


def open_confirmation(client):
    response = client.get(reverse("exchange:confirm"))
    assert response.status_code == 200
    return response


def confirm(client, page, **overrides):
    data = {
        "idempotency_key": hidden(page, "idempotency_key"),
        "fingerprint": hidden(page, "fingerprint"),
        "agree": "on",
    }
    data.update(overrides)
    return client.post(reverse("exchange:confirm"), {k: v for k, v in data.items() if v is not None})


def place_from_confirmation(client) -> Exchange:
    response = confirm(client, open_confirmation(client))
    assert response.status_code == 302, text(response)
    return Exchange.objects.get(number=response.url.rstrip("/").rsplit("/", 1)[-1])


# -- the guide, step by step -------------------------------------------------------------------------


def test_the_guides_worked_example_through_every_step(guide_client, guide_member, guide_catalogue, assert_ledger_ok):
    reward = guide_catalogue["reward"]
    catalogue = guide_client.get(reverse("exchange:catalogue"))
    assert catalogue.status_code == 200
    assert "交換する製品を選ぶ" in text(catalogue) and "♥ 42" in text(catalogue)
    assert "利用可能 ♥ 500" in text(catalogue)

    quantity = guide_client.get(reverse("exchange:quantity", args=[reward.pk]))
    assert quantity.status_code == 200
    assert "♥ 42" in text(quantity) and "セーブ" in text(quantity)
    assert "あと58ポイントまでは同じ手数料です" in text(quantity)
    assert add_to_cart(guide_client, reward)["Location"] == reverse("exchange:bundle")

    bundle = guide_client.get(reverse("exchange:bundle"))
    assert bundle.status_code == 200
    assert "カスタムバンドルを構築" in text(bundle)
    assert "3 アイテム ¥36,900" in text(bundle) and "PV: 180.00" in text(bundle)
    assert "続行" in text(bundle)

    page = open_confirmation(guide_client)
    figures = {name: figure(page, name) for name in ("points", "subtotal", "exchange-fee", "shipping", "tax", "total")}
    assert figures == {
        "points": "♥ 42",
        "subtotal": "¥35,567",
        "exchange-fee": "¥1,400",
        "shipping": "¥0",
        "tax": "¥2,873",
        "total": "¥38,440",
    }
    assert figure(page, "pv") == "180"
    assert (figure(page, "tax-8"), figure(page, "tax-10")) == ("¥2,733", "¥140")
    assert "うち8%対象 （¥36,900 税込）" in text(page) and "うち10%対象 （¥1,540 税込）" in text(page)
    page_text = text(page)
    for label in ("定期購入特典ポイントの交換", "小計", "定期購入特典交換手数料", "配送", "税金", "合計", "合計PV"):
        assert label in page_text
    assert "3 アイテム" in page_text and "変更を保存" in page_text
    assert "ご利用になるポイント（有効期限の近い順）" in page_text

    placed = confirm(guide_client, page)
    exchange = Exchange.objects.get(member=guide_member)
    assert placed["Location"] == reverse("exchange:done", args=[exchange.number])
    done = guide_client.get(placed["Location"])
    assert "お疲れ様でした" in text(done) and "製品到着をお待ちください" in text(done)
    assert exchange.number in text(done)
    assert (exchange.points, exchange.total, exchange.pv) == (42, 38440, Decimal("180"))
    assert points_available(member=guide_member) == 458
    assert SESSION_KEY not in guide_client.session
    assert_ledger_ok()


def test_confirmation_lists_the_lots_the_points_come_from(guide_client, guide_member, guide_catalogue):
    add_to_cart(guide_client, guide_catalogue["reward"])
    page = open_confirmation(guide_client)
    lot = guide_member.lots.get()
    last_day = lot.expires_at.astimezone(guide_member.market.zone) - dt.timedelta(days=1)
    assert f"{last_day.year}年{last_day.month}月{last_day.day}日まで有効" in text(page)
    assert "交換後の残りポイント：♥ 458" in text(page)


def test_apply_now_states_the_handling_fee_before_confirming(guide_client, guide_member, guide_catalogue):
    catalogue = guide_client.get(reverse("exchange:catalogue") + "?ship_now=1")
    assert "出荷事務手数料 ¥1,100（税込）が発生します" in text(catalogue)
    add_to_cart(guide_client, guide_catalogue["reward"])
    bundle = guide_client.get(reverse("exchange:bundle"))
    assert "1 アイテム" in text(bundle) and "出荷事務手数料" in text(bundle)
    page = open_confirmation(guide_client)
    assert "出荷事務手数料 ¥1,100（税込）が発生します" in text(page)
    assert figure(page, "shipping") == "¥1,000"
    assert figure(page, "total") == "¥2,640"  # 1,540 fee + 1,100 handling, tax included
    confirm(guide_client, page)
    assert Exchange.objects.get(member=guide_member).ship_now is True


def test_the_shipping_toggle_is_remembered_and_can_be_undone(guide_client, guide_catalogue):
    guide_client.post(reverse("exchange:catalogue"), {"ship_now": "1"})
    add_to_cart(guide_client, guide_catalogue["reward"])
    assert guide_client.session[SESSION_KEY]["ship_now"] is True
    guide_client.post(reverse("exchange:bundle"), {"ship_now": "0"})
    assert guide_client.session[SESSION_KEY]["ship_now"] is False
    assert "3 アイテム" in text(guide_client.get(reverse("exchange:bundle")))


def test_products_can_be_removed_from_the_bundle(guide_client, guide_catalogue):
    add_to_cart(guide_client, guide_catalogue["reward"])
    guide_client.post(reverse("exchange:bundle"), {"remove": str(guide_catalogue["reward"].pk)})
    response = guide_client.get(reverse("exchange:bundle"))
    assert response.status_code == 302 and response["Location"] == reverse("exchange:catalogue")


def test_english_is_available(guide_client, guide_catalogue, settings):
    guide_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    add_to_cart(guide_client, guide_catalogue["reward"])
    page = open_confirmation(guide_client)
    assert "Subscription rewards points exchanged" in text(page) and "Save changes" in text(page)
    assert "3 items" in text(guide_client.get(reverse("exchange:bundle")))


# -- one exchange, whatever the member taps --------------------------------------------------------------


def test_a_double_tap_places_one_exchange(guide_client, guide_member, guide_catalogue, assert_ledger_ok):
    add_to_cart(guide_client, guide_catalogue["reward"])
    page = open_confirmation(guide_client)
    first = confirm(guide_client, page)
    second = confirm(guide_client, page)  # same key: the cart is already empty
    assert first["Location"] == second["Location"]
    assert Exchange.objects.filter(member=guide_member).count() == 1
    assert Entry.objects.filter(member=guide_member, kind=Entry.Kind.REDEMPTION).count() == 1
    assert points_available(member=guide_member) == 458
    assert_ledger_ok()


def test_a_second_tap_that_beat_the_cart_being_emptied_places_one(
    client_of, guide_member, guide_catalogue, assert_ledger_ok
):
    """Two taps read the session before the first one empties the cart: both carry the cart's
    own key, and the second gets the first one's exchange from ``exchange_place``."""
    first_tap = client_of(guide_member)
    add_to_cart(first_tap, guide_catalogue["reward"])
    page = open_confirmation(first_tap)
    second_tap = client_of(guide_member)
    second_tap.cookies = first_tap.cookies  # the same session...
    session_before = dict(second_tap.session.items())  # ...as the second tap read it
    first = confirm(first_tap, page)
    session = second_tap.session
    session.update(session_before)  # the cart, still holding its key
    session.save()
    second = confirm(second_tap, page)
    assert first.status_code == second.status_code == 302 and first["Location"] == second["Location"]
    assert Exchange.objects.filter(member=guide_member).count() == 1
    assert Entry.objects.filter(member=guide_member, kind=Entry.Kind.REDEMPTION).count() == 1
    assert_ledger_ok()


def test_back_and_resubmit_with_a_refilled_cart_still_places_one(guide_client, guide_member, guide_catalogue):
    add_to_cart(guide_client, guide_catalogue["reward"])
    page = open_confirmation(guide_client)
    first = confirm(guide_client, page)
    add_to_cart(guide_client, guide_catalogue["reward"])  # back, and the cart filled again
    again = confirm(guide_client, page)
    assert again["Location"] == first["Location"]
    assert Exchange.objects.filter(member=guide_member).count() == 1


def test_two_tabs_place_one_exchange(guide_client, guide_member, guide_catalogue):
    add_to_cart(guide_client, guide_catalogue["reward"])
    tab_one = open_confirmation(guide_client)
    tab_two = open_confirmation(guide_client)
    assert hidden(tab_one, "idempotency_key") == hidden(tab_two, "idempotency_key")  # the cart's key
    first = confirm(guide_client, tab_one)
    second = confirm(guide_client, tab_two)
    assert second.status_code == 302 and second["Location"] == first["Location"]
    assert Exchange.objects.filter(member=guide_member).count() == 1


def test_a_confirmation_from_before_the_cart_changed_places_nothing(guide_client, guide_member, guide_catalogue):
    reward = guide_catalogue["reward"]
    add_to_cart(guide_client, reward)
    old_tab = open_confirmation(guide_client)
    add_to_cart(guide_client, reward, quantity=2)  # in another tab
    response = confirm(guide_client, old_tab)
    assert response.status_code == 200 and "カートの内容が変わりました" in text(response)
    assert figure(response, "points") == "♥ 84"
    assert hidden(response, "idempotency_key") != hidden(old_tab, "idempotency_key")
    assert not Exchange.objects.exists()
    confirm(guide_client, response)
    assert Exchange.objects.get(member=guide_member).points == 84


def test_saving_the_same_quantity_again_keeps_the_confirmation(guide_client, guide_catalogue):
    add_to_cart(guide_client, guide_catalogue["reward"])
    page = open_confirmation(guide_client)
    add_to_cart(guide_client, guide_catalogue["reward"])
    assert hidden(open_confirmation(guide_client), "idempotency_key") == hidden(page, "idempotency_key")


def test_a_changed_price_shows_the_new_confirmation_instead_of_charging(guide_client, guide_member, guide_catalogue):
    reward = guide_catalogue["reward"]
    add_to_cart(guide_client, reward)
    page = open_confirmation(guide_client)
    reward.point_cost = 150
    product_save(product=reward)
    response = confirm(guide_client, page)
    assert response.status_code == 200
    assert "確認画面を開いた後に内容が変わりました" in text(response)
    assert figure(response, "points") == "♥ 150" and figure(response, "exchange-fee") == "¥2,800"
    assert not Exchange.objects.exists()
    assert points_available(member=guide_member) == 500
    placed = confirm(guide_client, response)
    assert placed.status_code == 302
    assert Exchange.objects.get().points == 150


def update_with_the_orm(product_ids, **values):
    Product.objects.filter(pk__in=product_ids).update(**values)


def update_with_sql(product_ids, **values):
    """What another process (a shell, an import, a data fix) writes: nothing in this process hears of it."""
    columns = ", ".join(f"{name} = %s" for name in values)
    with connection.cursor() as cursor:
        for product_id in product_ids:
            cursor.execute(f"UPDATE subscriptions_product SET {columns} WHERE id = %s", [*values.values(), product_id])


@pytest.mark.parametrize("write", [update_with_the_orm, update_with_sql])
def test_points_and_a_price_changed_behind_the_apps_back_show_the_new_confirmation_and_place_nothing(
    guide_client, guide_member, guide_catalogue, write, assert_ledger_ok
):
    """The process's catalogue was read for the confirmation; the product then changes without
    any of the app's code running. Placing quotes the new figures, and the guard refuses them."""
    reward, sunrise = guide_catalogue["reward"], guide_catalogue["sunrise"]
    add_to_cart(guide_client, reward)
    page = open_confirmation(guide_client)
    assert figure(page, "points") == "♥ 42" and figure(page, "total") == "¥38,440"
    write([reward.pk], point_cost=150)
    write([sunrise.pk], price_incl_tax=25600)
    response = confirm(guide_client, page)
    assert response.status_code == 200
    assert "確認画面を開いた後に内容が変わりました" in text(response)
    assert figure(response, "points") == "♥ 150" and figure(response, "total") == f"¥{36900 + 1000 + 3080:,}"
    assert not Exchange.objects.exists()
    assert points_available(member=guide_member) == 500
    assert guide_client.get(reverse("exchange:bundle")).status_code == 200  # every later page quotes the new figures
    assert figure(open_confirmation(guide_client), "points") == "♥ 150"
    assert_ledger_ok()


def test_confirming_needs_the_agreement(guide_client, guide_member, guide_catalogue):
    add_to_cart(guide_client, guide_catalogue["reward"])
    page = open_confirmation(guide_client)
    response = confirm(guide_client, page, agree=None)
    assert response.status_code == 400
    assert "チェックボックスにチェック" in text(response)
    assert hidden(response, "idempotency_key") == hidden(page, "idempotency_key")
    assert not Exchange.objects.exists() and points_available(member=guide_member) == 500


@pytest.mark.parametrize(
    "field, value",
    [
        ("idempotency_key", "not-a-uuid"),
        ("idempotency_key", ""),
        ("fingerprint", "<script>"),
        ("fingerprint", ""),
        ("fingerprint", "0" * 200),
    ],
)
def test_a_tampered_hidden_field_changes_nothing(guide_client, guide_member, guide_catalogue, field, value):
    add_to_cart(guide_client, guide_catalogue["reward"])
    page = open_confirmation(guide_client)
    response = confirm(guide_client, page, **{field: value})
    assert response.status_code == 400
    assert "この確認画面は古いか、変更されています" in text(response)
    assert not Exchange.objects.exists() and points_available(member=guide_member) == 500


def test_a_forged_fingerprint_shows_the_real_figures(guide_client, guide_catalogue):
    add_to_cart(guide_client, guide_catalogue["reward"])
    page = open_confirmation(guide_client)
    response = confirm(guide_client, page, fingerprint="0" * 32)
    assert response.status_code == 200 and figure(response, "total") == "¥38,440"
    assert not Exchange.objects.exists()


def test_another_members_key_places_nothing(client_of, guide_member, guide_catalogue, assert_ledger_ok):
    other = MemberFactory()
    subscription_save(member=other, items={guide_catalogue["sunrise"]: 1})
    points_adjust_for(other, 100)
    other_client = client_of(other)
    add_to_cart(other_client, guide_catalogue["reward"])
    confirm(other_client, open_confirmation(other_client))
    other_exchange = Exchange.objects.get(member=other)

    client = client_of(guide_member)
    add_to_cart(client, guide_catalogue["reward"])
    page = open_confirmation(client)
    response = confirm(client, page, idempotency_key=str(other_exchange.idempotency_key))
    assert response.status_code == 200 and other_exchange.number not in text(response)
    assert not Exchange.objects.filter(member=guide_member).exists()
    assert confirm(client, page).status_code == 302
    assert Exchange.objects.get(member=guide_member).pk != other_exchange.pk
    assert_ledger_ok()


def points_adjust_for(member, points):
    from ssr_points.services import points_adjust

    points_adjust(member=member, points=points, reason="テスト", staff_user=StaffUserFactory())


# -- steps cannot be skipped -----------------------------------------------------------------------------


@pytest.mark.parametrize("step", ["exchange:bundle", "exchange:confirm"])
def test_later_steps_with_an_empty_cart_go_back_to_the_catalogue(guide_client, step):
    response = guide_client.get(reverse(step), follow=True)
    assert response.redirect_chain[-1][0] == reverse("exchange:catalogue")
    assert "カートが空です" in text(response)


def test_posting_a_confirmation_with_an_empty_cart_places_nothing(guide_client):
    response = guide_client.post(
        reverse("exchange:confirm"), {"idempotency_key": str(uuid.uuid4()), "fingerprint": "0" * 32, "agree": "on"}
    )
    assert response.status_code == 302 and response["Location"] == reverse("exchange:catalogue")
    assert not Exchange.objects.exists()


# -- bad input ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("quantity", ["0", "-1", "abc", "", "1.5", "100", "99999999999999999999999999", "1e3"])
def test_bad_quantities_get_a_message_and_change_nothing(guide_client, guide_catalogue, quantity):
    reward = guide_catalogue["reward"]
    response = guide_client.post(reverse("exchange:quantity", args=[reward.pk]), {"quantity": quantity})
    assert response.status_code == 400
    assert "個数" in text(response) and 'role="alert"' in response.content.decode()
    assert SESSION_KEY not in guide_client.session


@pytest.mark.parametrize("action, expected", [("plus", "2"), ("minus", "1"), ("update", "1")])
def test_the_quantity_buttons_recompute_without_saving(guide_client, guide_catalogue, action, expected):
    reward = guide_catalogue["reward"]
    response = guide_client.post(reverse("exchange:quantity", args=[reward.pk]), {"quantity": "1", "action": action})
    assert response.status_code == 200
    assert f'value="{expected}"' in response.content.decode()
    assert f"♥ {42 * int(expected)}" in text(response)
    assert SESSION_KEY not in guide_client.session


def test_unknown_products_get_a_message(guide_client):
    response = guide_client.get(reverse("exchange:quantity", args=[999999]))
    assert response.status_code == 400 and "この製品は交換できません" in text(response)


@pytest.mark.parametrize("kind", ["inactive", "not_exchangeable", "other_market"])
def test_products_that_cannot_be_exchanged_get_a_message(guide_client, guide_catalogue, kind):
    product = {
        "inactive": lambda: ProductFactory(reward=True, is_active=False),
        "not_exchangeable": lambda: guide_catalogue["sunrise"],
        "other_market": lambda: ProductFactory(reward=True, market=MarketFactory(code="US")),
    }[kind]()
    for response in (
        guide_client.get(reverse("exchange:quantity", args=[product.pk])),
        guide_client.post(reverse("exchange:quantity", args=[product.pk]), {"quantity": "1"}),
    ):
        assert response.status_code == 400 and "この製品は交換できません" in text(response)
    assert SESSION_KEY not in guide_client.session


def test_a_product_withdrawn_while_in_the_cart_is_taken_out(guide_client, guide_catalogue):
    reward = guide_catalogue["reward"]
    add_to_cart(guide_client, reward)
    page = open_confirmation(guide_client)
    reward.is_active = False
    product_save(product=reward)
    response = confirm(guide_client, page)
    assert response.status_code == 302 and response["Location"] == reverse("exchange:catalogue")
    assert "交換できなくなったため" in text(guide_client.get(response["Location"]))
    assert not Exchange.objects.exists()


def test_not_enough_points_is_said_at_the_quantity_step(guide_client, guide_member, guide_catalogue):
    reward = guide_catalogue["reward"]
    response = guide_client.post(reverse("exchange:quantity", args=[reward.pk]), {"quantity": "12"})  # 504 > 500
    assert response.status_code == 400 and "ポイントが足りません" in text(response)
    assert SESSION_KEY not in guide_client.session


def test_points_spent_elsewhere_before_confirming_change_nothing(guide_client, guide_member, guide_catalogue):
    add_to_cart(guide_client, guide_catalogue["reward"], quantity=10)
    page = open_confirmation(guide_client)
    points_redeem(member=guide_member, points=100, reference="X", reason="他の交換")
    response = confirm(guide_client, page)
    assert response.status_code == 400 and "ポイントが足りません" in text(response)
    assert not Exchange.objects.exists()


def test_a_negative_balance_cannot_exchange(client_of, guide_catalogue):
    member = MemberFactory()
    subscription = subscription_save(member=member, items={guide_catalogue["sunrise"]: 1})
    order = OrderFactory(subscription=subscription, member=member, pv=Decimal("1000"))
    points_grant_for_order(order=order)
    points_redeem(member=member, points=100, reference="EX-OLD", reason="交換")
    points_claw_back_order(order=order)
    assert points_available(member=member) == -100
    client = client_of(member)
    catalogue = client.get(reverse("exchange:catalogue"))
    assert catalogue.status_code == 200
    response = client.post(reverse("exchange:quantity", args=[guide_catalogue["reward"].pk]), {"quantity": "1"})
    assert response.status_code == 400 and "未精算" in text(response)
    assert not Exchange.objects.exists()


# -- who may see what ---------------------------------------------------------------------------------


def test_another_members_exchanges_are_not_found(client_of, guide_member, guide_catalogue):
    client = client_of(guide_member)
    add_to_cart(client, guide_catalogue["reward"])
    confirm(client, open_confirmation(client))
    exchange = Exchange.objects.get()
    intruder = client_of(MemberFactory())
    for name in ("exchange:done", "exchange:detail"):
        assert intruder.get(reverse(name, args=[exchange.number])).status_code == 404
    assert intruder.post(reverse("exchange:cancel", args=[exchange.number])).status_code == 404
    exchange.refresh_from_db()
    assert exchange.status == Exchange.Status.PLACED


PAGES = [
    ("exchange:catalogue", []),
    ("exchange:quantity", [1]),
    ("exchange:bundle", []),
    ("exchange:confirm", []),
    ("exchange:done", ["EX-X"]),
    ("exchange:list", []),
    ("exchange:detail", ["EX-X"]),
    ("home", []),
    ("program", []),
    ("program_qr", []),
    ("subscription", []),
]


@pytest.mark.parametrize("name, args", PAGES)
def test_every_member_page_needs_a_login(client, db, name, args):
    response = client.get(reverse(name, args=args))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name, args", [page for page in PAGES if page[0] not in ("exchange:done", "exchange:detail")])
def test_staff_without_a_member_profile_get_a_page_that_says_so(client, db, name, args):
    client.force_login(StaffUserFactory())
    response = client.get(reverse(name, args=args))
    assert response.status_code == 403
    assert "このアカウントには会員情報がありません" in text(response)
    assert f'href="{reverse("admin:index")}"' in response.content.decode()


def test_cancel_asks_to_confirm_before_it_changes_anything(guide_client, guide_member, guide_catalogue):
    """Item 5: a GET of the cancel page only asks (what comes back, to which lots, ¥0 charged)."""
    add_to_cart(guide_client, guide_catalogue["reward"])
    exchange = place_from_confirmation(guide_client)
    page = guide_client.get(reverse("exchange:cancel", args=[exchange.number]))
    assert page.status_code == 200
    body = text(page)
    lot = guide_member.lots.get()
    last_day = lot.expires_at.astimezone(guide_member.market.zone) - dt.timedelta(days=1)
    assert "戻るポイント ♥ 42" in body and "請求額 ¥0" in body
    assert f"{last_day.year}年{last_day.month}月{last_day.day}日まで有効 ♥ 42" in body
    assert Exchange.objects.get(pk=exchange.pk).status == Exchange.Status.PLACED
    assert guide_client.put(reverse("exchange:cancel", args=[exchange.number])).status_code == 405


# -- history, detail, cancel ----------------------------------------------------------------------------


def test_history_and_detail_show_the_exchange(guide_client, guide_member, guide_catalogue):
    add_to_cart(guide_client, guide_catalogue["reward"], quantity=2)
    confirm(guide_client, open_confirmation(guide_client))
    exchange = Exchange.objects.get()
    listing = guide_client.get(reverse("exchange:list"))
    assert exchange.number in text(listing) and "♥ 84" in text(listing) and "受付済み" in text(listing)
    placed = timezone.localtime(exchange.created_at, zoneinfo.ZoneInfo("Asia/Tokyo")).date()
    assert f"{exchange.number} · {placed.year}年{placed.month}月{placed.day}日 · 受付済み" in text(listing)
    detail = guide_client.get(reverse("exchange:detail", args=[exchange.number]))
    assert "× 2" in text(detail) and "このポイント交換をキャンセル" in text(detail)


def test_the_detail_shows_the_tax_by_rate_recorded_when_placed(guide_client, guide_catalogue):
    add_to_cart(guide_client, guide_catalogue["reward"])
    confirm(guide_client, open_confirmation(guide_client))
    exchange = Exchange.objects.get()
    guide_catalogue["sunrise"].price_incl_tax = 30000  # later price changes do not touch a placed exchange
    product_save(product=guide_catalogue["sunrise"])
    detail = guide_client.get(reverse("exchange:detail", args=[exchange.number]))
    assert (figure(detail, "tax"), figure(detail, "tax-8"), figure(detail, "tax-10")) == ("¥2,873", "¥2,733", "¥140")
    assert "うち8%対象 （¥36,900 税込）" in text(detail) and "うち10%対象 （¥1,540 税込）" in text(detail)


def test_the_detail_of_an_exchange_placed_before_the_tax_by_rate_shows_its_tax(guide_client, guide_catalogue):
    add_to_cart(guide_client, guide_catalogue["reward"])
    confirm(guide_client, open_confirmation(guide_client))
    exchange = Exchange.objects.get()
    exchange.tax_lines.all().delete()
    detail = guide_client.get(reverse("exchange:detail", args=[exchange.number]))
    assert detail.status_code == 200
    assert figure(detail, "tax") == "¥2,873"
    assert 'data-figure="tax-8"' not in detail.content.decode()


def test_cancelling_returns_the_points(guide_client, guide_member, guide_catalogue, assert_ledger_ok):
    add_to_cart(guide_client, guide_catalogue["reward"])
    confirm(guide_client, open_confirmation(guide_client))
    exchange = Exchange.objects.get()
    response = guide_client.post(reverse("exchange:cancel", args=[exchange.number]), follow=True)
    assert "42ポイントが戻りました" in text(response)
    exchange.refresh_from_db()
    assert exchange.status == Exchange.Status.CANCELLED
    assert points_available(member=guide_member) == 500
    again = guide_client.post(reverse("exchange:cancel", args=[exchange.number]), follow=True)
    assert "キャンセル済みです" in text(again)
    assert Entry.objects.filter(kind=Entry.Kind.REVERSAL).count() == 1
    assert_ledger_ok()


def test_a_shipped_exchange_cannot_be_cancelled(guide_client, guide_member, guide_catalogue):
    from exchange.services import exchange_mark_shipped

    add_to_cart(guide_client, guide_catalogue["reward"])
    confirm(guide_client, open_confirmation(guide_client))
    exchange = exchange_mark_shipped(exchange=Exchange.objects.get())
    detail = guide_client.get(reverse("exchange:detail", args=[exchange.number]))
    assert "このポイント交換をキャンセル" not in text(detail)
    response = guide_client.post(reverse("exchange:cancel", args=[exchange.number]), follow=True)
    assert "キャンセルできません" in text(response)
    assert points_available(member=guide_member) == 458


# -- members who cannot exchange here ------------------------------------------------------------------


@pytest.mark.parametrize("method", [PaymentMethod.BANK_TRANSFER, PaymentMethod.DIRECT_DEBIT])
def test_bank_members_are_sent_to_customer_experience(client_of, guide_member, guide_catalogue, method):
    guide_member.payment_method = method
    guide_member.save()
    client = client_of(guide_member)
    for url in (
        reverse("exchange:catalogue"),
        reverse("exchange:quantity", args=[guide_catalogue["reward"].pk]),
        reverse("exchange:bundle"),
        reverse("exchange:confirm"),
    ):
        response = client.get(url)
        assert response.status_code == 200
        page = text(response)
        assert "カスタマーエクスペリエンスまでご連絡ください" in page
        assert "03-4588-9520" in page and "cs.jp@example.com" in page
    response = client.post(reverse("exchange:quantity", args=[guide_catalogue["reward"].pk]), {"quantity": "1"})
    assert SESSION_KEY not in client.session
    response = client.post(
        reverse("exchange:confirm"), {"idempotency_key": str(uuid.uuid4()), "fingerprint": "0" * 32, "agree": "on"}
    )
    assert not Exchange.objects.exists()


def test_bank_members_can_send_their_request_to_customer_experience(client_of, guide_member):
    guide_member.payment_method = PaymentMethod.BANK_TRANSFER
    guide_member.save()
    client = client_of(guide_member)
    empty = client.post(reverse("exchange:request"), {"message": "  "})
    assert empty.status_code == 400 and not ExchangeRequest.objects.exists()
    response = client.post(
        reverse("exchange:request"), {"message": "トライアルパック1個", "contact_phone": "090-1111-2222"}, follow=True
    )
    assert "依頼を送信しました" in text(response)
    assert "お送りいただいた依頼" in text(response) and "未対応 トライアルパック1個" in text(response)
    request = ExchangeRequest.objects.get()
    assert (request.member, request.message, request.contact_phone) == (
        guide_member,
        "トライアルパック1個",
        "090-1111-2222",
    )


def test_members_without_a_subscription_are_led_to_the_subscription_page(client_of, guide_catalogue):
    member = MemberFactory()
    client = client_of(member)
    response = client.get(reverse("exchange:catalogue"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("subscription")
    assert "定期購入が必要です" in text(response)
    SubscriptionFactory(member=member)  # active but empty
    response = client.get(reverse("exchange:quantity", args=[guide_catalogue["reward"].pk]))
    assert response.status_code == 302 and response["Location"] == reverse("subscription")


# -- the demo ------------------------------------------------------------------------------------------


def test_the_demo_member_can_walk_the_whole_flow(client, db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    response = client.post(reverse("login"), {"username": "demo@example.com", "password": DEMO_PASSWORD})
    assert response["Location"] == reverse("home")
    member = Member.objects.get(member_number="100001")
    available = points_available(member=member)
    add_to_cart(client, Product.objects.get(sku="RW-TRIAL"))
    bundle = text(client.get(reverse("exchange:bundle")))
    assert "3 アイテム ¥36,900" in bundle and "PV: 180.00" in bundle  # the guide's line
    page = open_confirmation(client)
    assert (figure(page, "points"), figure(page, "total"), figure(page, "pv")) == ("♥ 42", "¥38,440", "180")
    assert confirm(client, page).status_code == 302
    assert points_available(member=member) == available - 42


def test_a_cart_rebuilt_from_a_damaged_session_keeps_only_what_is_valid():
    quantities = {"1": 2, "x": 1, "2": "abc", "3": 0, "4": 100}
    session = {SESSION_KEY: {"quantities": quantities, "ship_now": "yes", "key": "z"}}
    cart = Cart.load(session)
    assert (cart.quantities, cart.ship_now, cart.key) == ({1: 2}, False, None)
    assert Cart.load({SESSION_KEY: ["not", "a", "dict"]}).quantities == {}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"initial": {"idempotency_key": "1" * 32, "fingerprint": "ab" * 16}},
        {"data": {"idempotency_key": '"><script>alert(1)</script>', "fingerprint": ""}},
        {"data": {"idempotency_key": "1" * 32, "fingerprint": "ab" * 16, "agree": "on"}},
        {"data": {"idempotency_key": "1" * 32, "fingerprint": "ab" * 16, "agree": ""}},
    ],
)
def test_the_confirmations_inputs_are_djangos_without_the_template(kwargs):
    """HiddenValueInput and AgreeCheckbox write what Django's widget templates write, escaped the
    same way, with the agreement's required, checked and error attributes."""
    from django import forms

    from exchange.forms import ConfirmForm

    class Reference(forms.Form):
        idempotency_key = forms.UUIDField(widget=forms.HiddenInput)
        fingerprint = forms.CharField(widget=forms.HiddenInput)
        agree = forms.BooleanField()

    ours, django = ConfirmForm(**kwargs), Reference(**kwargs)
    if "data" in kwargs:
        ours.is_valid(), django.is_valid()
    for name in ("idempotency_key", "fingerprint", "agree"):
        assert str(ours[name]) == str(django[name])
    assert "<script>" not in str(ours["idempotency_key"])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"initial": {"quantity": 1}},
        {"data": {"quantity": "3"}},
        {"data": {"quantity": "abc"}},
        {"data": {"quantity": ""}},
        {"data": {"quantity": '"><script>alert(1)</script>'}},
        {"data": {}},
    ],
)
def test_the_quantity_input_is_djangos_without_the_template(kwargs):
    """QuantityInput writes what Django's number widget template writes, with its attributes,
    the value as typed (escaped) and the error attributes."""
    from django import forms

    from exchange.forms import QuantityForm
    from exchange.quotes import MAX_QUANTITY

    class Reference(forms.Form):
        quantity = forms.IntegerField(
            widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": 1, "max": MAX_QUANTITY, "class": "qty"})
        )

    ours, django = QuantityForm(**kwargs), Reference(**kwargs)
    if "data" in kwargs:
        ours.is_valid(), django.is_valid()
    assert str(ours["quantity"]) == str(django["quantity"])
    assert "<script>" not in str(ours["quantity"])
