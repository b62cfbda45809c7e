"""Brute force on the login forms: locked per (account, IP), never by account alone."""

import re

import pytest
from django.conf import settings
from django.urls import reverse

from tests.factories import MemberFactory, UserFactory

ATTACKER_IP = "203.0.113.66"
MEMBER_IP = "198.51.100.7"
PASSWORD = "pass-word-123"


def login(client, url, username, password, ip):
    return client.post(url, {"username": username, "password": password, "next": url}, REMOTE_ADDR=ip)


def is_logged_in(client) -> bool:
    return "_auth_user_id" in client.session


@pytest.fixture(params=["login", "admin:login"])
def login_url(request):
    return reverse(request.param)


@pytest.fixture
def account(db, login_url):
    if "admin" in login_url:
        return UserFactory(is_staff=True).username
    return MemberFactory().member_number


def test_account_is_locked_after_repeated_failures_from_one_ip(client, login_url, account):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = login(client, login_url, account, "wrong-password", ATTACKER_IP)
        assert not is_logged_in(client)
    response = login(client, login_url, account, PASSWORD, ATTACKER_IP)
    assert response.status_code == 429
    assert not is_logged_in(client)


def test_the_same_account_still_logs_in_from_another_ip(client, login_url, account):
    for _ in range(settings.AXES_FAILURE_LIMIT + 3):
        login(client, login_url, account, "wrong-password", ATTACKER_IP)
    response = login(client, login_url, account, PASSWORD, MEMBER_IP)
    assert response.status_code == 302
    assert is_logged_in(client)


def test_the_attacker_ip_can_still_log_in_to_other_accounts(client, login_url, account, db):
    other = UserFactory(is_staff=True).username if "admin" in login_url else MemberFactory().member_number
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(client, login_url, account, "wrong-password", ATTACKER_IP)
    assert login(client, login_url, other, PASSWORD, ATTACKER_IP).status_code == 302


def test_failures_below_the_limit_are_forgotten_after_a_success(client, login_url, account):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        login(client, login_url, account, "wrong-password", MEMBER_IP)
    assert login(client, login_url, account, PASSWORD, MEMBER_IP).status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        login(client, login_url, account, "wrong-password", MEMBER_IP)
    assert login(client, login_url, account, PASSWORD, MEMBER_IP).status_code == 302


def test_member_number_and_email_count_as_one_account(client, db):
    member = MemberFactory()
    url = reverse("login")
    for i in range(settings.AXES_FAILURE_LIMIT):
        typed = member.member_number if i % 2 else f"  {member.user.email.upper()} "
        login(client, url, typed, "wrong-password", ATTACKER_IP)
    assert login(client, url, member.user.email, PASSWORD, ATTACKER_IP).status_code == 429
    assert not is_logged_in(client)


def test_behind_a_proxy_the_lockout_is_per_real_client(client, db, settings):
    """With the load balancer's address in REMOTE_ADDR, the client is the last X-Forwarded-For hop."""
    settings.TRUSTED_PROXY_COUNT = 1
    member = MemberFactory()
    url = reverse("login")
    proxy = "10.0.0.2"
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            url,
            {"username": member.member_number, "password": "wrong-password"},
            REMOTE_ADDR=proxy,
            HTTP_X_FORWARDED_FOR=f"1.2.3.4, {ATTACKER_IP}",  # the first entry is the attacker's to invent
        )
    response = client.post(
        url,
        {"username": member.member_number, "password": PASSWORD},
        REMOTE_ADDR=proxy,
        HTTP_X_FORWARDED_FOR=MEMBER_IP,
    )
    assert response.status_code == 302
    assert is_logged_in(client)


# -- issue 11 item 1: the lockout page and the warning before it --------------------------------------


def test_the_attempt_before_the_lock_warns(client, db):
    member = MemberFactory()
    url = reverse("login")
    pages = [login(client, url, member.member_number, "wrong-password", MEMBER_IP) for _ in range(4)]
    assert all(page.status_code == 200 for page in pages)
    assert "あと1回間違えると" not in pages[2].content.decode()
    warning = pages[3].content.decode()
    assert "あと1回間違えると、この端末からのログインが15分間できなくなります。" in warning
    assert 'href="/password-reset/"' in warning


def test_the_lockout_page_is_japanese_in_the_site_layout_with_time_contact_and_reset(client, db):
    member = MemberFactory()
    url = reverse("login")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        login(client, url, member.member_number, "wrong-password", ATTACKER_IP)
    response = login(client, url, member.member_number, "wrong-password", ATTACKER_IP)
    assert response.status_code == 429
    page = response.content.decode()
    assert '<html lang="ja">' in page and "<title>ログインを一時停止しています | SSRリワード</title>" in page
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日 \d{1,2}:\d{2} 以降（約1[45]分後）にもう一度お試しください", page)
    assert 'href="tel:03-4588-9520"' in page and 'href="mailto:cs.jp@example.com"' in page
    assert 'href="/password-reset/"' in page
    # A locked pair gets the same page on every try, whether or not the password is right.
    again = login(client, url, member.member_number, PASSWORD, ATTACKER_IP)
    assert again.status_code == 429 and "ログインを一時的に停止しています" in again.content.decode()
