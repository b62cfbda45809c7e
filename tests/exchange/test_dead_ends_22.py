"""Issue 22's dead ends on the wizard's pages (the browser walks them too:
tests/browser/test_dead_ends_22.py): the confirmation is never answered from the browser's
cache; a reward shows what it is and what it takes before the tap; members paying by bank
transfer or direct debit browse the catalogue and pick rewards for their request."""

import os
import re

import pytest
from django.core.management import call_command
from django.urls import reverse

from exchange.models import Exchange, ExchangeRequest
from exchange.services import exchange_request_create
from subscriptions.models import PaymentMethod, Product
from tests.exchange.test_views import add_to_cart, confirm, figure, hidden, open_confirmation, text
from tests.factories import ProductFactory


@pytest.fixture
def guide_client(client, guide_member):
    client.force_login(guide_member.user)
    return client


def assert_never_cached(response) -> None:
    directives = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"no-store", "no-cache", "must-revalidate", "private", "max-age=0"} <= directives
    assert "Expires" in response


# -- back after done: the confirmation is never shown from the browser's cache -----------------------


def test_every_answer_of_the_confirmation_is_never_cached(guide_client, guide_catalogue):
    add_to_cart(guide_client, guide_catalogue["reward"])
    page = open_confirmation(guide_client)
    assert_never_cached(page)  # GET, 200
    forgot = guide_client.post(
        reverse("exchange:confirm"),
        {"idempotency_key": hidden(page, "idempotency_key"), "fingerprint": hidden(page, "fingerprint")},
    )
    assert forgot.status_code == 400 and "まだ保存されていません" in text(forgot)
    assert_never_cached(forgot)  # POST, 400
    # The page that answers a POST marks itself, so the script makes it a plain GET entry in the
    # history: the back button asks the server again instead of offering to resend the form.
    assert "data-answers-post" in forgot.content.decode() and "data-answers-post" not in page.content.decode()
    tampered = guide_client.post(reverse("exchange:confirm"), {"idempotency_key": "x", "fingerprint": "y"})
    assert tampered.status_code == 400
    assert_never_cached(tampered)
    placed = confirm(guide_client, forgot)
    assert placed.status_code == 302
    assert_never_cached(placed)
    back = guide_client.get(reverse("exchange:confirm"))  # what the back button now fetches
    assert back.status_code == 200 and "このポイント交換は受け付け済みです" in text(back)
    assert "まだ保存されていません" not in text(back)
    assert_never_cached(back)
    assert Exchange.objects.count() == 1


def test_the_form_sent_again_from_the_error_page_places_nothing_more(guide_client, guide_catalogue):
    """Without the script the browser offers to resend the form: that places nothing and shows the exchange."""
    add_to_cart(guide_client, guide_catalogue["reward"])
    page = open_confirmation(guide_client)
    data = {"idempotency_key": hidden(page, "idempotency_key"), "fingerprint": hidden(page, "fingerprint")}
    guide_client.post(reverse("exchange:confirm"), data)
    guide_client.post(reverse("exchange:confirm"), {**data, "agree": "on"})
    again = guide_client.post(reverse("exchange:confirm"), data)
    exchange = Exchange.objects.get()
    assert again.status_code == 302 and again["Location"] == reverse("exchange:done", args=[exchange.number])


# -- rewards: what it is, and what it takes, before the tap -------------------------------------------


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def product_entry(html: str, name: str) -> str:
    """The catalogue's entry of the product named ``name`` (its <li>)."""
    return next(item for item in re.findall(r"<li[ >].*?</li>", html, flags=re.S) if name in item)


def test_an_item_the_member_cannot_afford_is_not_a_link_and_says_what_it_takes(guide_client, guide_catalogue):
    big = ProductFactory(sku="RW-BIG", reward=True, point_cost=650, name_ja="プレミアムセット")
    html = guide_client.get(reverse("exchange:catalogue")).content.decode()  # 500 points available
    short = product_entry(html, "プレミアムセット")
    assert "<a " not in short and reverse("exchange:quantity", args=[big.pk]) not in html
    assert "あと150pt必要" in short
    affordable = product_entry(html, guide_catalogue["reward"].name_ja)
    assert (
        f'<a class="product" href="{reverse("exchange:quantity", args=[guide_catalogue["reward"].pk])}"' in affordable
    )
    assert "必要" not in affordable


def test_the_quantity_step_keeps_save_disabled_while_the_points_do_not_reach(guide_client, guide_catalogue):
    reward = guide_catalogue["reward"]  # 42 points; 500 available: 11 reach, 12 do not
    url = reverse("exchange:quantity", args=[reward.pk])
    save = re.compile(r'<button type="submit" form="quantity-form" name="action" value="save"[^>]*>')
    page = guide_client.post(url, {"quantity": "11", "action": "plus"})
    assert page.status_code == 200 and "ポイントが足りません" in text(page)
    assert "disabled" in save.search(page.content.decode()).group(0)
    page = guide_client.post(url, {"quantity": "12", "action": "minus"})
    assert "disabled" not in save.search(page.content.decode()).group(0)


def test_the_catalogue_says_what_each_reward_is_in_the_members_language(guide_client, guide_catalogue):
    reward = guide_catalogue["reward"]
    reward.description_ja, reward.description_en = "人気の3製品のお試しセット", "Three favourites to try"
    reward.save()
    assert "人気の3製品のお試しセット" in text(guide_client.get(reverse("exchange:catalogue")))
    guide_client.cookies["django_language"] = "en"
    assert "Three favourites to try" in text(guide_client.get(reverse("exchange:catalogue")))


def test_every_reward_of_the_demo_has_a_description_in_both_languages(db):
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    rewards = Product.objects.filter(point_cost__isnull=False)
    assert rewards.count() >= 4
    assert all(product.description_ja and product.description_en for product in rewards)


# -- bank transfer / direct debit: browse the catalogue, pick rewards for the request ------------------


@pytest.fixture
def bank_client(client, guide_member):
    guide_member.payment_method = PaymentMethod.BANK_TRANSFER
    guide_member.save()
    client.force_login(guide_member.user)
    return client


@pytest.mark.parametrize("method", [PaymentMethod.BANK_TRANSFER, PaymentMethod.DIRECT_DEBIT])
def test_a_member_paying_by_bank_sees_the_catalogue_with_points_and_what_each_reward_takes(
    client, guide_member, guide_catalogue, method
):
    guide_member.payment_method = method
    guide_member.save()
    client.force_login(guide_member.user)
    reward = guide_catalogue["reward"]
    reward.description_ja = "はじめての方に"
    reward.save()
    big = ProductFactory(sku="RW-BIG", reward=True, point_cost=650, name_ja="プレミアムセット")
    page = client.get(reverse("exchange:catalogue"))
    html = page.content.decode()
    assert page.status_code == 200 and figure(page, "available") == "♥ 500"
    assert "カスタマーエクスペリエンスまでご連絡ください" in text(page)  # and the phone and email, as before
    affordable = product_entry(html, reward.name_ja)
    assert f'name="quantity_{reward.pk}"' in affordable and "♥ 42 · はじめての方に" in text_of(affordable)
    short = product_entry(html, "プレミアムセット")
    assert f'name="quantity_{big.pk}"' not in short and "あと150pt必要" in short
    assert reverse("exchange:quantity", args=[reward.pk]) not in html  # no wizard: CX places it


def test_the_request_records_the_rewards_and_quantities_chosen(bank_client, guide_member, guide_catalogue):
    reward = guide_catalogue["reward"]
    response = bank_client.post(
        reverse("exchange:request"),
        {f"quantity_{reward.pk}": "2", "message": "", "contact_phone": "090-1111-2222"},
        follow=True,
    )
    assert "依頼を送信しました" in text(response)
    request = ExchangeRequest.objects.get()
    assert request.lines == [
        {"product_id": reward.pk, "sku": reward.sku, "name": reward.name_ja, "quantity": 2, "points": 84}
    ]
    assert (request.member, request.message, request.contact_phone) == (guide_member, "", "090-1111-2222")
    assert f"{reward.name_ja} × 2 (♥ 84)" in text(response)  # in the member's requests


def test_a_request_beyond_the_points_or_with_nothing_chosen_is_refused_and_changes_nothing(
    bank_client, guide_catalogue
):
    reward = guide_catalogue["reward"]
    over = bank_client.post(reverse("exchange:request"), {f"quantity_{reward.pk}": "12"})  # 504 > 500
    assert over.status_code == 400 and "ポイントが足りません" in text(over)
    assert f'name="quantity_{reward.pk}" value="12"' in over.content.decode()  # the choice stays
    nothing = bank_client.post(reverse("exchange:request"), {f"quantity_{reward.pk}": "0", "message": " "})
    assert nothing.status_code == 400 and "特典と個数を選ぶか、ご希望の交換内容をご記入ください" in text(nothing)
    foreign = ProductFactory(sku="RW-OFF", reward=True, point_cost=10, is_active=False)
    tampered = bank_client.post(reverse("exchange:request"), {f"quantity_{foreign.pk}": "1"})
    assert tampered.status_code == 400
    negative = bank_client.post(reverse("exchange:request"), {f"quantity_{reward.pk}": "-1"})
    assert negative.status_code == 400
    assert not ExchangeRequest.objects.exists()


def test_customer_experience_sees_the_chosen_rewards_in_the_queue(
    bank_client, guide_member, guide_catalogue, admin_client
):
    reward = guide_catalogue["reward"]
    exchange_request_create(member=guide_member, lines=[(reward, 2)], message="次回に同梱で")
    queue = admin_client.get(reverse("admin:exchange_exchangerequest_changelist"))
    assert f"{reward.name_ja} × 2（84pt）" in queue.content.decode()
    request = ExchangeRequest.objects.get()
    page = admin_client.get(reverse("admin:exchange_exchangerequest_change", args=[request.pk])).content.decode()
    assert "選んだ特典" in page and f"{reward.name_ja} × 2（84pt）" in page and "product_id" not in page
