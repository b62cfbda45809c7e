"""Every staff action, for every role, over HTTP: done where the role may, refused (and the
ledger untouched) where it may not. Roles and permissions: docs/admin.md (issue 5)."""

import uuid

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from exchange.models import Exchange
from ssr_points.models import Entry
from subscriptions.models import SubscriptionOrder
from tests.factories import OrderFactory, StaffUserFactory, SubscriptionFactory
from tests.security.conftest import ledger_state

ROLES = ["cx_agent", "cx_supervisor", "ops", "finance", "no_group", "superuser"]


@pytest.fixture
def as_role(client, roles):
    def log_in(role: str):
        user = StaffUserFactory(is_superuser=role == "superuser")
        if role in roles:
            user.groups.add(roles[role])
        client.force_login(user)
        return user

    return log_in


@pytest.fixture
def member(subscribed_member):
    return subscribed_member(points=2000)


def allowed(role: str, *roles: str) -> bool:
    return role == "superuser" or role in roles


def adjust(client, member, points):
    url = reverse("admin:subscriptions_member_adjust_points", args=[member.pk])
    data = {"points": points, "reason": "お詫びの付与", "idempotency_key": uuid.uuid4(), "confirm": "1"}
    return client.post(url, data)


@pytest.mark.parametrize("role", ROLES)
def test_adjust_points_within_the_limit(client, as_role, member, role):
    as_role(role)
    before = Entry.objects.count()
    response = adjust(client, member, 100)
    if allowed(role, "cx_agent", "cx_supervisor"):
        assert response.status_code == 302
        assert Entry.objects.count() == before + 1
    else:
        assert response.status_code == 403
        assert Entry.objects.count() == before


@pytest.mark.parametrize("role", ["cx_agent", "cx_supervisor"])
def test_adjust_points_above_the_limit_needs_a_supervisor(client, as_role, member, role, settings):
    as_role(role)
    before = ledger_state()
    adjust(client, member, settings.SSR_CX_ADJUSTMENT_LIMIT + 1)
    assert (ledger_state() != before) == (role == "cx_supervisor")


@pytest.mark.parametrize("role", ROLES)
def test_place_an_exchange_for_a_member(client, as_role, member, role):
    as_role(role)
    response = client.get(reverse("admin:exchange_exchange_place_for_member", args=[member.pk]))
    assert response.status_code == (200 if allowed(role, "cx_agent", "cx_supervisor") else 403)


def run_action(client, changelist: str, action: str, pk: int):
    data = {"action": action, ACTION_CHECKBOX_NAME: [pk], "apply": "1", "reason": "会員の依頼"}
    return client.post(reverse(changelist), data)


@pytest.mark.parametrize("role", ROLES)
def test_cancel_an_exchange(client, as_role, member, place, role):
    exchange = place(member)
    as_role(role)
    before = ledger_state()
    response = run_action(client, "admin:exchange_exchange_changelist", "cancel_selected", exchange.pk)
    assert response.status_code in (200, 302, 403)
    exchange.refresh_from_db()
    if allowed(role, "cx_agent", "cx_supervisor"):
        assert exchange.status == Exchange.Status.CANCELLED
    else:
        assert exchange.status == Exchange.Status.PLACED
        assert ledger_state() == before


@pytest.mark.parametrize("role", ROLES)
def test_mark_an_order_returned(client, as_role, grant_points, role):
    order = grant_points()
    as_role(role)
    before = ledger_state()
    run_action(client, "admin:subscriptions_subscriptionorder_changelist", "mark_returned", order.pk)
    order.refresh_from_db()
    if allowed(role, "cx_agent", "cx_supervisor"):
        assert order.status == SubscriptionOrder.Status.RETURNED
    else:
        assert order.status == SubscriptionOrder.Status.SHIPPED
        assert ledger_state() == before


@pytest.mark.parametrize("role", ROLES)
def test_mark_an_order_shipped(client, as_role, member, role, django_capture_on_commit_callbacks):
    order = OrderFactory(
        subscription=SubscriptionFactory(member=member, status="paused"),
        status=SubscriptionOrder.Status.CREATED,
        shipped_at=None,
    )
    as_role(role)
    with django_capture_on_commit_callbacks(execute=True):
        run_action(client, "admin:subscriptions_subscriptionorder_changelist", "mark_shipped", order.pk)
    order.refresh_from_db()
    expected = SubscriptionOrder.Status.SHIPPED if allowed(role, "ops") else SubscriptionOrder.Status.CREATED
    assert order.status == expected


@pytest.mark.parametrize("role", ROLES)
def test_points_report(client, as_role, member, role):
    as_role(role)
    for url in [reverse("admin:points_report"), reverse("admin:points_report_csv", args=["outstanding"])]:
        assert client.get(url).status_code == (200 if allowed(role, "finance") else 403), url


@pytest.mark.parametrize("role", ROLES)
def test_ledger_check(client, as_role, member, role):
    as_role(role)
    response = client.post(reverse("admin:ledger_check"), {"member_numbers": member.member_number})
    assert response.status_code == (200 if allowed(role, "cx_supervisor", "ops", "finance") else 403)


@pytest.mark.parametrize("role", ROLES)
def test_change_a_markets_fee(client, as_role, member, role):
    market = member.market
    as_role(role)
    url = reverse("admin:subscriptions_market_change", args=[market.pk])
    response = client.post(url, {"exchange_fee_per_100_points": 1})
    market.refresh_from_db()
    assert market.exchange_fee_per_100_points == 1400  # an incomplete form never saves
    assert response.status_code == (200 if allowed(role, "ops") else 403)


@pytest.mark.parametrize("role", ROLES)
def test_nobody_edits_or_deletes_the_ledger(client, as_role, member, role):
    as_role(role)
    entry = Entry.objects.filter(member=member).first()
    before = ledger_state()
    assert client.post(reverse("admin:ssr_points_entry_change", args=[entry.pk]), {"points": 1}).status_code == 403
    response = client.post(reverse("admin:ssr_points_entry_delete", args=[entry.pk]), {"post": "yes"})
    assert response.status_code == 403
    assert ledger_state() == before


def test_members_and_visitors_never_reach_a_staff_action(client, member):
    urls = [
        reverse("admin:subscriptions_member_adjust_points", args=[member.pk]),
        reverse("admin:exchange_exchange_place_for_member", args=[member.pk]),
        reverse("admin:points_report"),
        reverse("admin:ledger_check"),
        reverse("admin:exchange_exchange_changelist"),
    ]
    for who in [None, member.user]:
        if who:
            client.force_login(who)
        for url in urls:
            response = client.get(url)
            assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login")), url
    before = ledger_state()
    client.post(urls[0], {"points": 100, "reason": "x", "idempotency_key": uuid.uuid4(), "confirm": "1"})
    assert ledger_state() == before


@pytest.fixture
def grant_points(member):
    """A shipped subscription order of ``member`` with its points granted."""
    from ssr_points.services import points_grant_for_order

    def grant():
        order = OrderFactory(subscription=member.subscriptions.get(status="active"), months_subscribed=1)
        points_grant_for_order(order=order)
        return order

    return grant
