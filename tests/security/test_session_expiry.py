"""Sessions expire; the exchange wizard survives an expiry mid-way without losing or
double-spending anything."""

import re

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse

from config.session_refresh import REFRESHED_AT
from exchange.models import Exchange
from ssr_points.checks import ledger_check
from ssr_points.selectors import points_available

PASSWORD = "pass-word-123"


def test_sessions_expire_after_thirty_idle_minutes():
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert not settings.SESSION_EXPIRE_AT_BROWSER_CLOSE
    assert "config.session_refresh.SessionRefreshMiddleware" in settings.MIDDLEWARE


def test_activity_slides_the_expiry_with_one_write_a_minute(client, subscribed_member):
    client.force_login(subscribed_member().user)
    client.get(reverse("home"))
    session = client.session
    first_expiry = session.get_expiry_date()
    refreshed_at = session[REFRESHED_AT]

    client.get(reverse("home"))  # within the minute: not saved again
    assert client.session[REFRESHED_AT] == refreshed_at

    session = client.session
    session[REFRESHED_AT] = refreshed_at - settings.SESSION_REFRESH_SECONDS  # a minute later
    session.save()
    client.get(reverse("home"))
    session = client.session
    assert session[REFRESHED_AT] >= refreshed_at
    assert session.get_expiry_date() >= first_expiry
    assert session.get_expiry_age() > settings.SESSION_COOKIE_AGE - 5


def session_expire(client: Client) -> None:
    """What 30 idle minutes do: the stored session is past its expiry (any session engine)."""
    session = client.session
    session.set_expiry(-1)
    session.save()


def csrf_token(response) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.text).group(1)


def hidden(response, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]+)"', response.text).group(1)


def log_in(client: Client, member, next_url: str = ""):
    page = client.get(reverse("login"))
    data = {"username": member.member_number, "password": PASSWORD, "csrfmiddlewaretoken": csrf_token(page)}
    url = reverse("login") + (f"?next={next_url}" if next_url else "")
    return client.post(url, data, REMOTE_ADDR="198.51.100.7")


def walk_to_confirmation(client: Client, reward):
    page = client.get(reverse("exchange:quantity", args=[reward.pk]))
    response = client.post(
        reverse("exchange:quantity", args=[reward.pk]),
        {"quantity": 2, "action": "save", "csrfmiddlewaretoken": csrf_token(page)},
    )
    assert response.status_code == 302
    assert client.get(reverse("exchange:bundle")).status_code == 200
    return client.get(reverse("exchange:confirm"))


def confirm_data(confirmation, csrf_from=None) -> dict:
    return {
        "idempotency_key": hidden(confirmation, "idempotency_key"),
        "fingerprint": hidden(confirmation, "fingerprint"),
        "agree": "on",
        "csrfmiddlewaretoken": csrf_token(csrf_from or confirmation),
    }


@pytest.fixture
def browser(db):
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def member(subscribed_member):
    return subscribed_member(points=500)


def test_expired_before_saving_changes_nothing_and_the_member_starts_again(browser, member, catalogue):
    assert log_in(browser, member).status_code == 302
    confirmation = walk_to_confirmation(browser, catalogue["reward"])
    before = points_available(member=member)
    session_expire(browser)

    # 「変更を保存」 after the expiry: sent to the login page, nothing placed.
    response = browser.post(reverse("exchange:confirm"), confirm_data(confirmation))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert SESSION_KEY not in browser.session
    assert Exchange.objects.filter(member=member).count() == 0
    assert points_available(member=member) == before

    # Back in: the cart went with the session, so the wizard starts again; one exchange.
    response = log_in(browser, member, next_url=reverse("exchange:confirm"))
    assert response["Location"] == reverse("exchange:confirm")
    assert browser.get(reverse("exchange:confirm"))["Location"] == reverse("exchange:catalogue")
    confirmation = walk_to_confirmation(browser, catalogue["reward"])
    response = browser.post(reverse("exchange:confirm"), confirm_data(confirmation))
    assert response["Location"].startswith("/exchange/done/")
    assert Exchange.objects.filter(member=member).count() == 1
    assert points_available(member=member) == before - 84
    assert ledger_check() == []


def test_expired_right_after_saving_the_resubmitted_form_places_nothing_more(browser, member, catalogue):
    """Saved, then the session expired before the done page: the member logs in again and
    sends the same confirmation (back button, retry). One exchange, points redeemed once."""
    log_in(browser, member)
    confirmation = walk_to_confirmation(browser, catalogue["reward"])
    before = points_available(member=member)
    placed = browser.post(reverse("exchange:confirm"), confirm_data(confirmation))
    number = placed["Location"].rstrip("/").rsplit("/", 1)[-1]
    session_expire(browser)

    log_in(browser, member)
    fresh_page = browser.get(reverse("exchange:catalogue"))
    response = browser.post(reverse("exchange:confirm"), confirm_data(confirmation, csrf_from=fresh_page))
    assert response.status_code == 302
    assert response["Location"] == reverse("exchange:done", kwargs={"number": number})
    assert Exchange.objects.filter(member=member).count() == 1
    assert points_available(member=member) == before - 84
    assert ledger_check() == []


def test_an_old_confirmation_from_before_the_expiry_is_refused_by_csrf(browser, member, catalogue):
    """The login rotates the CSRF token: a form from the expired session cannot be replayed."""
    log_in(browser, member)
    confirmation = walk_to_confirmation(browser, catalogue["reward"])
    session_expire(browser)
    log_in(browser, member)
    walk_to_confirmation(browser, catalogue["reward"])
    response = browser.post(reverse("exchange:confirm"), confirm_data(confirmation))
    assert response.status_code == 403
    assert Exchange.objects.filter(member=member).count() == 0
