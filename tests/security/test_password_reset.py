"""Issue 11 item 2: password reset by email with Django's views and tokens, in Japanese,
rate-limited per IP and per account without telling whether an account exists; a reset ends
the account's lockout."""

import re

import pytest
from django.conf import settings
from django.core import mail
from django.core.cache import cache
from django.urls import reverse

from tests.factories import MemberFactory

ATTACKER_IP = "203.0.113.66"
MEMBER_IP = "198.51.100.7"


@pytest.fixture(autouse=True)
def _fresh_limits():
    cache.clear()
    yield
    cache.clear()


def ask(client, typed, ip=MEMBER_IP):
    return client.post(reverse("password_reset"), {"email": typed}, REMOTE_ADDR=ip)


def reset_link(message) -> str:
    return re.search(r"https?://[^/\s]+(/password-reset/[^\s]+/)", message.body).group(1)


def test_a_member_resets_by_member_number_with_a_japanese_email_in_text_and_html(
    client, db, django_capture_on_commit_callbacks
):
    member = MemberFactory(name="山田 花子")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = ask(client, member.member_number)
    assert response.status_code == 302 and response.url == reverse("password_reset_done")
    assert len(callbacks) == 1  # the email waits for the commit
    (message,) = mail.outbox
    assert message.to == [member.user.email]
    assert message.subject == "【SSRリワード】新しいパスワードの設定"
    assert "山田 花子 様" in message.body
    html = message.alternatives[0]
    assert html.mimetype == "text/html" and '<html lang="ja">' in html.content

    link = reset_link(message)
    form = client.get(link, follow=True)
    assert "新しいパスワードの設定" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0], {"new_password1": "brand-new-Pass-42", "new_password2": "brand-new-Pass-42"}
    )
    assert done.status_code == 302 and done.url == reverse("password_reset_complete")
    response = client.post(reverse("login"), {"username": member.member_number, "password": "brand-new-Pass-42"})
    assert response.status_code == 302
    # The token works once.
    assert "有効期限が切れているか、すでに使われています" in client.get(link, follow=True).content.decode()


def test_the_answer_is_the_same_whether_or_not_the_account_exists(client, db, django_capture_on_commit_callbacks):
    member = MemberFactory()
    with django_capture_on_commit_callbacks(execute=True):
        known = ask(client, member.user.email.upper())
        unknown = ask(client, "nobody@example.com")
        number_unknown = ask(client, "999999")
    assert known.status_code == unknown.status_code == number_unknown.status_code == 302
    assert known.url == unknown.url == number_unknown.url
    assert [m.to for m in mail.outbox] == [[member.user.email]]


def test_an_account_gets_a_few_emails_an_hour_and_the_page_does_not_say_when_it_stops(
    client, db, django_capture_on_commit_callbacks
):
    member = MemberFactory()
    with django_capture_on_commit_callbacks(execute=True):
        answers = [ask(client, member.member_number, ip=f"198.51.100.{i}") for i in range(6)]
    assert {(a.status_code, a.url) for a in answers} == {(302, reverse("password_reset_done"))}
    assert len(mail.outbox) == settings.PASSWORD_RESET_ACCOUNT_LIMIT


def test_one_ip_is_slowed_down_whatever_it_types(client, db, django_capture_on_commit_callbacks):
    member = MemberFactory()
    with django_capture_on_commit_callbacks(execute=True):
        for i in range(settings.PASSWORD_RESET_IP_LIMIT):
            assert ask(client, f"guess{i}@example.com", ip=ATTACKER_IP).status_code == 302
        refused_known = ask(client, member.member_number, ip=ATTACKER_IP)
        refused_unknown = ask(client, "guess@example.com", ip=ATTACKER_IP)
    assert refused_known.status_code == refused_unknown.status_code == 429

    def without_token(response):
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())

    assert without_token(refused_known) == without_token(refused_unknown)
    assert "しばらくお待ちください" in refused_known.content.decode()
    assert mail.outbox == []
    assert ask(client, member.member_number, ip=MEMBER_IP).status_code == 302  # another IP still can


def test_a_reset_ends_the_lockout_of_the_account(client, db, django_capture_on_commit_callbacks):
    member = MemberFactory()
    login = reverse("login")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(login, {"username": member.member_number, "password": "wrong"}, REMOTE_ADDR=MEMBER_IP)
    assert (
        client.post(login, {"username": member.member_number, "password": "x"}, REMOTE_ADDR=MEMBER_IP).status_code
        == 429
    )
    with django_capture_on_commit_callbacks(execute=True):
        ask(client, member.user.email)
    form = client.get(reset_link(mail.outbox[0]), follow=True)
    client.post(
        form.redirect_chain[-1][0], {"new_password1": "brand-new-Pass-42", "new_password2": "brand-new-Pass-42"}
    )
    response = client.post(
        login, {"username": member.member_number, "password": "brand-new-Pass-42"}, REMOTE_ADDR=MEMBER_IP
    )
    assert response.status_code == 302
    assert "_auth_user_id" in client.session


def test_the_reset_form_refuses_nothing_odd_with_a_500(client, db):
    for typed in ["", " ", "x" * 300, "a\x00b", "<script>alert(1)</script>"]:
        response = client.post(reverse("password_reset"), {"email": typed})
        assert response.status_code in (200, 302, 400)
        assert "<script>alert" not in response.content.decode()


def test_with_the_cache_unreachable_a_reset_is_still_answered_and_sent(
    client, db, settings, django_capture_on_commit_callbacks
):
    """The limits count in Redis; while it is unreachable the reset works without them (the
    outage is logged by config/cache.py), not a 500."""
    settings.CACHES = {
        "default": {
            "BACKEND": "config.cache.DegradingRedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1: refused at once
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    member = MemberFactory()
    with django_capture_on_commit_callbacks(execute=True):
        response = ask(client, member.member_number)
    assert response.status_code == 302 and response.url == reverse("password_reset_done")
    assert [m.to for m in mail.outbox] == [[member.user.email]]


# -- issue 23, break 3: the answer's timing told whether the account exists ----------------------


def answered(client, typed, django_capture_on_commit_callbacks):
    """The request's own work: its SQL and what it leaves for after the commit (nothing run yet)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks() as callbacks:
        response = ask(client, typed)
    return response, [query["sql"] for query in queries], callbacks


def test_a_known_and_an_unknown_account_take_the_same_path_and_the_email_is_sent_after_the_answer(
    client, db, django_capture_on_commit_callbacks
):
    member = MemberFactory()
    known, known_sql, known_after = answered(client, member.member_number, django_capture_on_commit_callbacks)
    unknown, unknown_sql, unknown_after = answered(client, "999999", django_capture_on_commit_callbacks)
    by_email, email_sql, email_after = answered(client, "nobody@example.com", django_capture_on_commit_callbacks)

    assert (known.status_code, known.url) == (unknown.status_code, unknown.url) == (by_email.status_code, by_email.url)
    # The same statements (none looks the account up) and one message each, sent after the commit:
    # nothing was emailed inside any of the three requests.
    assert known_sql == unknown_sql == email_sql
    assert len(known_after) == len(unknown_after) == len(email_after) == 1
    assert mail.outbox == []

    for callback in known_after + unknown_after + email_after:
        callback()  # the worker's half (tasks run eagerly here)
    assert [message.to for message in mail.outbox] == [[member.user.email]]
    assert reset_link(mail.outbox[0]).startswith("/password-reset/")


@pytest.mark.django_db(transaction=True)
def test_with_the_broker_unreachable_the_email_still_goes_out_after_the_answer(client, broker_unreachable):
    import threading

    member = MemberFactory()
    response = ask(client, member.user.email)
    assert response.status_code == 302 and response.url == reverse("password_reset_done")
    for thread in threading.enumerate():
        if thread.name == "password-reset-email":
            thread.join(timeout=30)
    assert [message.to for message in mail.outbox] == [[member.user.email]]
