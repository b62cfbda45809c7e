"""A session lives in the database and nowhere else: once it is gone from there (logout, expiry,
a password change), no copy anywhere signs anyone in again (docs/security.md)."""

import pytest
from django.conf import settings
from django.contrib.sessions.backends import cached_db
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-42"


@pytest.fixture
def member(subscribed_member):
    member = subscribed_member(points=100)
    member.user.set_password(PASSWORD)
    member.user.save(update_fields=["password"])
    return member


def signed_in(member) -> Client:
    client = Client()
    response = client.post(reverse("login"), {"username": member.member_number, "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200
    return client


def test_sessions_are_stored_in_the_database_only():
    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.db"


def test_a_copy_planted_back_after_logout_does_not_sign_the_member_in(member):
    client = signed_in(member)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    data = SessionStore(key).load()
    assert data["_auth_user_id"] == str(member.user.pk)

    assert client.post(reverse("logout")).status_code == 302
    assert not Session.objects.filter(session_key=key).exists()
    # What a cache held before the logout, put back where Django's cached stores look for it.
    for alias in settings.CACHES:
        caches[alias].set(cached_db.KEY_PREFIX + key, data, 1800)
        caches[alias].set(f"django.contrib.sessions.cache{key}", data, 1800)

    stale = Client()
    stale.cookies[settings.SESSION_COOKIE_NAME] = key
    response = stale.get(reverse("home"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    response = stale.get(reverse("exchange:catalogue"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_a_session_deleted_in_the_database_ends_at_the_next_request(member):
    client = signed_in(member)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    Session.objects.filter(session_key=key).delete()  # e.g. clearsessions, or an ops clean-up
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
