"""Issue 11 items 4, 5, 7, 10, 13 on the wizard's pages (the browser walks them too:
tests/browser/test_dead_ends.py)."""

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from exchange.models import Exchange
from subscriptions.models import SubscriptionOrder
from tests.exchange.test_views import add_to_cart, confirm, figure, open_confirmation, text
from tests.factories import OrderFactory, ProductFactory


@pytest.fixture
def guide_client(client, guide_member):
    client.force_login(guide_member.user)
    return client


def long(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def test_back_to_the_confirmation_after_placing_says_it_was_received(guide_client, guide_catalogue):
    add_to_cart(guide_client, guide_catalogue["reward"])
    placed = confirm(guide_client, open_confirmation(guide_client))
    number = placed.url.rstrip("/").rsplit("/", 1)[-1]
    again = guide_client.get(reverse("exchange:confirm"))
    assert again.status_code == 200
    page = text(again)
    assert "このポイント交換は受け付け済みです" in page and "カートが空です" not in page
    assert f'href="{reverse("exchange:detail", args=[number])}"' in again.content.decode()
    # Once a new exchange is under way, the confirmation is the new cart's again.
    add_to_cart(guide_client, guide_catalogue["reward"])
    assert "最終確認" in text(guide_client.get(reverse("exchange:confirm")))
    assert Exchange.objects.count() == 1


def test_bundle_confirmation_and_done_show_the_next_shipment_and_the_cancel_cut_off(
    guide_client, guide_member, guide_catalogue
):
    shipment = guide_member.subscriptions.get().next_shipment_date
    cut_off = shipment - dt.timedelta(days=1)
    add_to_cart(guide_client, guide_catalogue["reward"])
    for page in (guide_client.get(reverse("exchange:bundle")), open_confirmation(guide_client)):
        assert figure(page, "next-shipment") == long(shipment)
        assert figure(page, "cancel-until") == long(cut_off)
    done = guide_client.get(confirm(guide_client, open_confirmation(guide_client)).url)
    assert figure(done, "next-shipment") == long(shipment)
    assert figure(done, "cancel-until") == long(cut_off)


def test_done_shows_the_date_of_the_order_an_exchange_was_packed_with_and_no_cut_off(
    guide_client, guide_member, guide_catalogue
):
    add_to_cart(guide_client, guide_catalogue["reward"])
    done_url = confirm(guide_client, open_confirmation(guide_client)).url
    order = OrderFactory(
        subscription=guide_member.subscriptions.get(),
        status=SubscriptionOrder.Status.CREATED,
        shipment_date=dt.date(2031, 5, 7),
        shipped_at=None,
    )
    Exchange.objects.update(order=order)
    done = guide_client.get(done_url)
    assert figure(done, "next-shipment") == long(dt.date(2031, 5, 7))
    assert 'data-figure="cancel-until"' not in done.content.decode()


def test_apply_now_shows_no_bundled_shipment(guide_client, guide_catalogue):
    guide_client.post(reverse("exchange:catalogue"), {"ship_now": "1"})
    add_to_cart(guide_client, guide_catalogue["reward"])
    page = open_confirmation(guide_client)
    assert 'data-figure="next-shipment"' not in page.content.decode()
    body = text(page)
    # 配送 is marked 税抜 and its tax-included amount is beside it; the heading is this shipment's.
    assert "配送 （税抜） ＝税込 ¥1,100 ¥1,000" in body
    assert "今回のお届けのお支払い内容" in body and "定期購入のお支払い内容" not in body
    assert "計算：②¥1,400 ＋ ④¥1,000 ＋ ⑤¥240 ＝ ⑥¥2,640（③は②に含まれています）" in body


def test_every_price_outside_the_breakdown_is_tax_included(guide_client, guide_catalogue):
    quantity = guide_client.get(reverse("exchange:quantity", args=[guide_catalogue["reward"].pk]))
    assert figure(quantity, "exchange-fee-incl-tax") == "¥1,540"
    assert "（税抜）" not in text(quantity)
    program = text(guide_client.get(reverse("program")))
    assert "交換手数料 ¥1,540（税込）" in program


def test_products_the_member_cannot_afford_yet_say_how_many_points_are_missing(guide_client, guide_catalogue):
    ProductFactory(sku="RW-BIG", reward=True, point_cost=650)
    page = text(guide_client.get(reverse("exchange:catalogue")))  # 500 points available
    assert "♥ 650 あと150pt" in page
    assert "♥ 42 あと" not in page
    add_to_cart(guide_client, guide_catalogue["reward"], quantity=5)  # 210 in the cart, 290 spare
    assert "♥ 650 あと360pt" in text(guide_client.get(reverse("exchange:catalogue")))


def test_the_catalogue_shows_thumbnails_with_alt_text_size_and_lazy_loading(guide_client, guide_catalogue):
    picture = io.BytesIO()
    Image.new("RGB", (600, 600), (200, 60, 90)).save(picture, format="PNG")
    reward = guide_catalogue["reward"]
    reward.image = SimpleUploadedFile("trial.png", picture.getvalue(), content_type="image/png")
    reward.image_alt_ja = "黄色いリボンの赤い箱"
    reward.save()
    html = guide_client.get(reverse("exchange:catalogue")).content.decode()
    img = (
        f'<img class="thumb thumb-img" src="{reward.image_thumbnail.url}" alt="黄色いリボンの赤い箱" '
        'width="56" height="56" loading="lazy" decoding="async">'
    )
    assert img in html
    served = guide_client.get(reward.image_thumbnail.url)
    assert served.status_code == 200 and b"".join(served.streaming_content)[:4] == b"RIFF"
