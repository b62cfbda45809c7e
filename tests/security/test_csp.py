"""Content-Security-Policy from Django's own middleware: no inline script anywhere."""

import re

import pytest
from django.urls import reverse

from tests.factories import UserFactory


def policy_of(response) -> dict[str, list[str]]:
    header = response.headers["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in header.split(";"))}


def test_every_response_carries_a_policy_without_inline_script(client, db):
    policy = policy_of(client.get(reverse("admin:login")))
    assert policy["script-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    for values in policy.values():
        assert "'unsafe-inline'" not in values
        assert "'unsafe-eval'" not in values


@pytest.fixture
def superuser_client(client, db):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_admin_inline_style_is_allowed_by_its_nonce(superuser_client):
    """The admin change list has one inline <style>; it carries the nonce the header names."""
    response = superuser_client.get(reverse("admin:auth_group_changelist"))
    assert response.status_code == 200
    nonces = set(re.findall(r'nonce="([^"]+)"', response.text))
    style_src = policy_of(response)["style-src"]
    assert nonces, "the admin renders nonce attributes (context processor 'csp' is on)"
    assert style_src == ["'self'", f"'nonce-{nonces.pop()}'"]


def test_admin_pages_have_no_inline_script_or_handlers(superuser_client):
    pages = ["admin:index", "admin:auth_user_changelist", "admin:auth_user_add", "admin:points_report"]
    for url in [*map(reverse, pages), reverse("admin:ledger_check")]:
        response = superuser_client.get(url)
        assert response.status_code == 200
        for script in re.findall(r"<script\b[^>]*>(.*?)</script>", response.text, flags=re.S):
            assert script.strip() == "", f"inline script on {url}"
        assert not re.search(r"\son[a-z]+=", response.text), f"inline event handler on {url}"
        assert not re.search(r"\sstyle=", response.text), f"style attribute on {url}"


MEMBER_PAGES = ["home", "program", "subscription", "exchange:catalogue", "exchange:list", "login"]


@pytest.mark.parametrize("name", MEMBER_PAGES)
def test_member_pages_work_under_the_policy(client, subscribed_member, name):
    """No inline script, event handler or style attribute: the policy would block them."""
    if name != "login":
        client.force_login(subscribed_member().user)
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert "Content-Security-Policy" in response.headers
    for script in re.findall(r"<script\b[^>]*>(.*?)</script>", response.text, flags=re.S):
        assert script.strip() == "", f"inline script on {name}"
    assert not re.search(r"\son[a-z]+=", response.text), f"inline event handler on {name}"
    assert not re.search(r"\sstyle=", response.text), f"style attribute on {name}"
