"""config/sessions.py: Django's cached_db sessions, an existing session saved in one UPDATE with
the results of Django's own save."""

import datetime as dt

import pytest
from django.conf import settings
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from config.session_refresh import REFRESHED_AT
from config.sessions import SessionStore

pytestmark = pytest.mark.django_db


def session_new(**data) -> str:
    session = SessionStore()
    session.update(data)
    session.create()
    return session.session_key


def test_the_project_stores_sessions_with_it():
    assert settings.SESSION_ENGINE == "config.sessions"


def test_an_existing_session_is_saved_in_one_update_with_its_data_expiry_and_cached_copy():
    key = session_new(cart={"7": 1})
    session = SessionStore(key)
    session["cart"] = {"7": 3}
    session.set_expiry(600)

    with CaptureQueriesContext(connection) as queries:
        session.save()

    assert [query["sql"].split()[0] for query in queries] == ["UPDATE"]  # no savepoint, no model save
    row = Session.objects.get(session_key=key)
    assert SessionStore().decode(row.session_data) == {"cart": {"7": 3}, "_session_expiry": 600}
    assert abs(row.expire_date - (timezone.now() + dt.timedelta(seconds=600))) < dt.timedelta(seconds=5)
    assert cache.get(SessionStore.cache_key_prefix + key) == {"cart": {"7": 3}, "_session_expiry": 600}
    assert SessionStore(key).load() == {"cart": {"7": 3}, "_session_expiry": 600}


def test_an_expired_session_is_not_read_back_after_an_update():
    key = session_new(cart={"7": 1})
    session = SessionStore(key)
    session.set_expiry(-1)
    session.save()
    cache.delete(SessionStore.cache_key_prefix + key)

    assert SessionStore(key).load() == {}


def test_a_session_deleted_meanwhile_is_not_written_back():
    key = session_new(cart={"7": 1})
    session = SessionStore(key)
    session.load()
    Session.objects.filter(session_key=key).delete()  # cleared as expired, or logged out elsewhere
    session["cart"] = {"7": 2}

    with pytest.raises(UpdateError):
        session.save()
    assert not Session.objects.filter(session_key=key).exists()


def test_a_request_whose_session_was_deleted_meanwhile_is_answered_400(client, subscribed_member):
    client.force_login(subscribed_member().user)
    session = client.session
    session[REFRESHED_AT] = session[REFRESHED_AT] - settings.SESSION_REFRESH_SECONDS  # due a save
    session.save()
    client.get(reverse("home"))  # the cached copy, as another process would hold it
    session = client.session
    session[REFRESHED_AT] = session[REFRESHED_AT] - settings.SESSION_REFRESH_SECONDS
    session.save()
    Session.objects.filter(session_key=session.session_key).delete()  # the row only

    response = client.get(reverse("home"))

    assert response.status_code == 400  # SessionInterrupted, as with Django's store
    assert not Session.objects.filter(session_key=session.session_key).exists()


def test_a_new_session_still_goes_through_django(client, subscribed_member):
    client.force_login(subscribed_member().user)

    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert Session.objects.filter(session_key=key).exists()
    assert client.get(reverse("home")).status_code == 200
