"""A member only ever sees or acts on their own data: another member's numbers → 404."""

import pytest
from django.urls import reverse

from exchange.models import Exchange
from tests.factories import StaffUserFactory
from tests.security.conftest import ledger_state

MEMBER_PAGES = [
    ("home", {}),
    ("program", {}),
    ("program_qr", {}),
    ("subscription", {}),
    ("exchange:catalogue", {}),
    ("exchange:bundle", {}),
    ("exchange:confirm", {}),
    ("exchange:list", {}),
]


@pytest.fixture
def two_members(subscribed_member, place):
    me, other = subscribed_member(), subscribed_member()
    mine, theirs = place(me), place(other)
    return me, mine, other, theirs


@pytest.mark.parametrize(("name", "kwargs"), MEMBER_PAGES)
def test_every_member_page_needs_a_login(client, db, name, kwargs):
    response = client.get(reverse(name, kwargs=kwargs))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_exchange_pages_with_a_number_need_a_login(client, two_members):
    _, mine, _, _ = two_members
    for name in ["exchange:done", "exchange:detail"]:
        response = client.get(reverse(name, kwargs={"number": mine.number}))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    response = client.post(reverse("exchange:cancel", kwargs={"number": mine.number}))
    assert response.status_code == 302
    assert Exchange.objects.get(pk=mine.pk).status == Exchange.Status.PLACED


@pytest.mark.parametrize("name", ["exchange:done", "exchange:detail"])
def test_another_members_exchange_is_not_found(client, two_members, name):
    me, mine, _, theirs = two_members
    client.force_login(me.user)
    assert client.get(reverse(name, kwargs={"number": mine.number})).status_code == 200
    assert client.get(reverse(name, kwargs={"number": theirs.number})).status_code == 404


def test_another_members_exchange_cannot_be_cancelled(client, two_members):
    me, _, _, theirs = two_members
    client.force_login(me.user)
    before = ledger_state()
    response = client.post(reverse("exchange:cancel", kwargs={"number": theirs.number}))
    assert response.status_code == 404
    assert Exchange.objects.get(pk=theirs.pk).status == Exchange.Status.PLACED
    assert ledger_state() == before


def test_cancel_needs_post(client, two_members):
    """A GET only shows the confirmation (item 5); another member's exchange is a 404 either way."""
    me, mine, _, theirs = two_members
    client.force_login(me.user)
    assert client.get(reverse("exchange:cancel", kwargs={"number": mine.number})).status_code == 200
    assert Exchange.objects.get(pk=mine.pk).status == Exchange.Status.PLACED
    assert client.get(reverse("exchange:cancel", kwargs={"number": theirs.number})).status_code == 404


def test_lists_show_only_the_members_own_rows(client, two_members):
    me, mine, other, theirs = two_members
    client.force_login(me.user)
    exchanges = client.get(reverse("exchange:list")).text
    assert mine.number in exchanges
    assert theirs.number not in exchanges
    home = client.get(reverse("home")).text
    assert mine.number in home
    assert theirs.number not in home
    assert other.member_number not in home


def test_a_staff_account_without_member_profile_gets_no_member_page(client, two_members):
    client.force_login(StaffUserFactory())
    for name, kwargs in MEMBER_PAGES:
        if name == "program_qr":
            continue
        assert client.get(reverse(name, kwargs=kwargs)).status_code == 403, name
