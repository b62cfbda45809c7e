"""Issue 22: a page that does not exist (a stale link, another member's exchange number) is a page
in the member layout, in the member's language, with the way back (config/errors.py,
templates/404.html) — also with DEBUG on, as in ``./dev demo``. The browser walks it too:
tests/browser/test_dead_ends_22.py."""

import re

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from tests.factories import MemberFactory


def title(body: str) -> str:
    return re.search(r"<title>(.*?)</title>", body, flags=re.S).group(1).strip()


def assert_members_404_in_japanese(response) -> str:
    body = response.content.decode()
    assert response.status_code == 404
    assert '<html lang="ja">' in body and 'class="topbar"' in body and '<main id="main">' in body
    assert title(body) == "ページが見つかりません | SSRリワード"
    assert "お探しのページは見つかりませんでした" in body and "何も変更されていません" in body
    for english in ("Not Found", "was not found on this server", "Using the URLconf", "Page not found"):
        assert english not in body
    return body


@pytest.fixture
def signed_in(client, subscribed_member):
    member = subscribed_member(points=500)
    client.force_login(member.user)
    return client


@pytest.mark.parametrize("debug", [False, True], ids=["production", "demo-with-debug"])
def test_a_stale_link_is_a_japanese_page_with_the_way_back_home_and_to_the_exchange_history(signed_in, settings, debug):
    settings.DEBUG = debug
    body = assert_members_404_in_japanese(signed_in.get("/exchange/no-such-step/"))
    assert f'href="{reverse("home")}"' in body and "定期購入特典に戻る" in body
    assert f'href="{reverse("exchange:list")}"' in body and "交換履歴の一覧" in body
    assert 'class="mainnav"' in body  # still signed in: the site's navigation


@pytest.mark.parametrize("debug", [False, True], ids=["production", "demo-with-debug"])
def test_another_members_exchange_number_is_the_same_page_and_tells_nothing_about_it(
    signed_in, subscribed_member, place, settings, debug
):
    settings.DEBUG = debug
    other = place(subscribed_member(points=500))
    for name in ("exchange:detail", "exchange:done", "exchange:cancel"):
        body = assert_members_404_in_japanese(signed_in.get(reverse(name, args=[other.number])))
        main = body.split('<main id="main">', 1)[1].split("</main>", 1)[0]
        assert other.number not in main and "♥" not in main


def test_english_when_the_member_chose_english(signed_in):
    signed_in.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    response = signed_in.get("/exchange/history/EX-NOPE0000/")
    body = response.content.decode()
    assert response.status_code == 404 and '<html lang="en">' in body
    assert title(body) == "Page not found | SSR Rewards"
    assert "This page was not found" in body and "Back to Subscription rewards" in body


def test_signed_out_the_way_back_is_the_login(client, db):
    MemberFactory()  # a market for the Customer Experience phone
    body = assert_members_404_in_japanese(client.get("/no-such-page/"))
    assert f'href="{reverse("login")}"' in body and 'class="mainnav"' not in body
    assert 'href="tel:03-4588-9520"' in body


def test_the_order_event_api_keeps_its_own_404(client, db, settings):
    api = client.get("/api/events/no-such-event/")
    assert api.status_code == 404 and api.json()["error"] == "not_found"
    settings.DEBUG = True  # the demo: the API is no member page
    assert "お探しのページ" not in client.get("/api/events/no-such-event/").content.decode()
