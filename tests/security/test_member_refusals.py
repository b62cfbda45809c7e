"""A refused request on the member site (403: a form the server will not accept, a page the
account may not open) is a Japanese page in the member layout with a title and the way forward
(config/errors.py, templates/403.html); in the back office it stays the admin's own."""

import re

import pytest
from django.test import Client, RequestFactory
from django.urls import get_resolver, reverse

from exchange.models import Exchange
from tests.factories import StaffUserFactory
from tests.security.test_session_expiry import PASSWORD, csrf_token, log_in, walk_to_confirmation


@pytest.fixture
def browser(db):
    return Client(enforce_csrf_checks=True)


def title(body: str) -> str:
    return re.search(r"<title>(.*?)</title>", body, flags=re.S).group(1).strip()


def assert_member_layout_in_japanese(body: str) -> None:
    assert '<html lang="ja">' in body
    assert 'class="topbar"' in body and '<main id="main">' in body  # templates/base.html
    assert "何も変更されていません" in body and "次にできること" in body
    for english in ("Forbidden", "CSRF verification failed", "More information is available"):
        assert english not in body


def test_a_form_from_an_old_page_is_refused_with_a_japanese_page_and_the_way_forward(
    browser, subscribed_member, catalogue
):
    member = subscribed_member(points=500)
    assert log_in(browser, member).status_code == 302
    confirmation = walk_to_confirmation(browser, catalogue["reward"])
    data = {
        "idempotency_key": re.search(r'name="idempotency_key" value="([^"]+)"', confirmation.text).group(1),
        "fingerprint": re.search(r'name="fingerprint" value="([^"]+)"', confirmation.text).group(1),
        "agree": "on",
        "csrfmiddlewaretoken": "x" * 64,  # a token from another session
    }
    response = browser.post(reverse("exchange:confirm"), data)
    body = response.content.decode()
    assert response.status_code == 403
    assert Exchange.objects.filter(member=member).count() == 0
    assert_member_layout_in_japanese(body)
    assert title(body).startswith("もう一度お試しください")
    assert "お手続きを受け付けられませんでした" in body and "ポイントは使われておらず" in body
    assert f'href="{reverse("home")}"' in body and f'href="{reverse("exchange:list")}"' in body
    assert 'class="mainnav"' in body  # the member is still signed in: the site's navigation
    # The page hands out a fresh token: the same form sent again from a reloaded page goes through.
    again = browser.post(reverse("exchange:confirm"), {**data, "csrfmiddlewaretoken": csrf_token(response)})
    assert again.status_code == 302 and Exchange.objects.filter(member=member).count() == 1


def test_a_login_form_without_its_cookie_is_refused_with_the_way_back_to_the_login(browser, subscribed_member):
    member = subscribed_member(points=0)
    response = browser.post(reverse("login"), {"username": member.member_number, "password": PASSWORD})
    body = response.content.decode()
    assert response.status_code == 403
    assert_member_layout_in_japanese(body)
    assert f'href="{reverse("login")}"' in body
    assert member.market.cx_phone in body  # whom to call


def test_a_forbidden_member_page_is_the_member_layout_and_the_admins_stays_the_admins(db, subscribed_member, roles):
    from django.core.exceptions import PermissionDenied

    handler = get_resolver().resolve_error_handler(403)  # config.urls' handler403
    member = subscribed_member(points=0)
    request = RequestFactory().get("/exchange/history/EX-SOMEONE-ELSE/")
    request.user = member.user
    response = handler(request, PermissionDenied())
    body = response.content.decode()
    assert response.status_code == 403
    assert_member_layout_in_japanese(body)
    assert title(body).startswith("このページは開けません")
    assert "このアカウントではこのページを開けません" in body

    admin_request = RequestFactory().get(reverse("admin:subscriptions_member_changelist"))
    finance = StaffUserFactory()
    finance.groups.add(roles["finance"])
    admin_request.user = finance
    admin_page = handler(admin_request, PermissionDenied()).content.decode()
    assert 'id="site-name"' in admin_page and "この操作の権限がありません" in admin_page


def test_a_refused_admin_form_is_the_admins_page(db):
    staff = Client(enforce_csrf_checks=True)
    staff.force_login(StaffUserFactory(is_superuser=True))
    response = staff.post(reverse("admin:ledger_check"), {"member_numbers": "1"})
    assert response.status_code == 403
    assert 'id="site-name"' in response.content.decode()
