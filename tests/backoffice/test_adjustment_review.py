"""Issue 23: the adjustment's review refuses what the confirmation would refuse — beyond
±1,000,000 points, more points removed than the member has (a balance below zero), above the
user's per-adjustment limit, beyond the daily cap — before it offers a confirm button; and what
it offers, the confirmation makes. Numbers read with thousands separators."""

import uuid

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from ssr_points.models import Entry
from ssr_points.roles import DAILY_POINTS_ADDED_CAP
from tests.factories import MemberFactory

CONFIRM_BUTTON = 'name="confirm"'


def review(client, member, points, *, key=None):
    url = reverse("admin:subscriptions_member_adjust_points", args=[member.pk])
    data = {"points": points, "reason": "お詫び", "idempotency_key": str(key or uuid.uuid4()), "preview": "1"}
    return client.post(url, data)


def confirm(client, member, points, *, key):
    url = reverse("admin:subscriptions_member_adjust_points", args=[member.pk])
    data = {"points": points, "reason": "お詫び", "idempotency_key": str(key), "confirm": "1"}
    return client.post(url, data, follow=True)


def said(response) -> str:
    return " ".join(str(m) for m in get_messages(response.wsgi_request)) + response.content.decode()


@pytest.fixture
def member(grant_points):
    member = MemberFactory()
    grant_points(member, 1200)
    return member


@pytest.mark.parametrize(
    ("role", "points", "refusal"),
    [
        ("cx_agent", 1_000_001, "1,000,000"),  # the form's bound
        ("cx_supervisor", -1_000_001, "1,000,000"),
        ("cx_agent", -1001, "1,000"),  # above the agent's per-adjustment limit
        ("cx_agent", 1001, "1,000"),
        ("cx_supervisor", -1201, "1,201"),  # more than the member has: the balance would go below zero
        ("cx_agent", -1000, None),  # within everything: the review offers the confirmation
        ("cx_supervisor", 5000, None),
    ],
)
def test_the_review_offers_a_confirm_button_only_for_what_the_confirmation_makes(
    client, make_staff, member, role, points, refusal, assert_ledger_ok
):
    client.force_login(make_staff(role))
    response = review(client, member, points)
    assert response.status_code == 200
    if refusal:
        assert CONFIRM_BUTTON not in response.content.decode()
        assert refusal in said(response)
    else:
        assert CONFIRM_BUTTON in response.content.decode()
        assert response.context["confirming"] is True
    assert not Entry.objects.filter(member=member, kind=Entry.Kind.ADJUSTMENT).exists()
    assert_ledger_ok()


def test_a_member_with_a_debt_cannot_be_taken_below_zero(client, make_staff, member):
    from ssr_points.models import PointAccount

    PointAccount.objects.filter(member=member).update(debt=300)  # what a returned order left
    client.force_login(make_staff("cx_supervisor"))
    refused = review(client, member, -901)
    assert CONFIRM_BUTTON not in refused.content.decode() and "900" in said(refused)
    assert CONFIRM_BUTTON in review(client, member, -900).content.decode()


def test_the_review_says_the_daily_cap_before_the_confirmation(client, make_staff, member):
    client.force_login(make_staff("cx_agent"))
    for _ in range(DAILY_POINTS_ADDED_CAP["cx_agent"] // 1000):
        key = uuid.uuid4()
        assert CONFIRM_BUTTON in review(client, member, 1000, key=key).content.decode()
        confirm(client, member, 1000, key=key)
    refused = review(client, member, 1)
    assert CONFIRM_BUTTON not in refused.content.decode() and "3,000" in said(refused)


def test_what_the_review_offers_the_confirmation_makes_with_its_figures_grouped(client, make_staff, member):
    client.force_login(make_staff("cx_supervisor"))
    key = uuid.uuid4()
    page = review(client, member, 2500, key=key).content.decode()
    assert "+2,500" in page and "3,700" in page  # the points and the balance after, with separators
    done = confirm(client, member, 2500, key=key)
    assert Entry.objects.get(member=member, kind=Entry.Kind.ADJUSTMENT).points == 2500
    assert "+2,500" in said(done)
