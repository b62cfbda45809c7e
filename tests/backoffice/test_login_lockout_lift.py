"""Issue 23: a member's login lockout (django-axes) is visible on the member page, and a CX
supervisor can lift it, recorded in the timeline; an agent sees it but cannot lift it."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from backoffice.models import LoginLockoutLift
from tests.factories import MemberFactory

LOCKED_IP = "198.51.100.23"
PASSWORD = "pass-word-123"


def member_login(member, password, ip=LOCKED_IP):
    return Client().post(reverse("login"), {"username": member.member_number, "password": password}, REMOTE_ADDR=ip)


@pytest.fixture
def locked_member(db):
    member = MemberFactory(name="山田 花子")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        member_login(member, "wrong-password")
    assert member_login(member, PASSWORD).status_code == 429  # locked from this address
    return member


def member_page(client, member):
    return client.get(reverse("admin:subscriptions_member_change", args=[member.pk]))


def lift(client, member):
    return client.post(reverse("admin:subscriptions_member_lift_lockout", args=[member.pk]), follow=True)


def test_an_agent_sees_the_lockout_but_cannot_lift_it(client, make_staff, locked_member):
    client.force_login(make_staff("cx_agent"))
    page = member_page(client, locked_member)
    login_cell = page.content.decode().split('id="cx-login"', 1)[1].split("</dd>", 1)[0]
    assert "ログイン制限中" in login_cell and LOCKED_IP in login_cell
    assert 'id="lift-lockout"' not in login_cell
    assert lift(client, locked_member).status_code == 403
    assert member_login(locked_member, PASSWORD).status_code == 429
    assert not LoginLockoutLift.objects.exists()


def test_a_supervisor_lifts_it_the_member_logs_in_and_the_timeline_records_it(client, make_staff, locked_member):
    supervisor = make_staff("cx_supervisor")
    client.force_login(supervisor)
    assert 'id="lift-lockout"' in member_page(client, locked_member).content.decode()
    done = lift(client, locked_member)
    assert "再びログインできます" in done.content.decode()
    assert "制限なし" in done.content.decode().split('id="cx-login"', 1)[1].split("</dd>", 1)[0]

    assert member_login(locked_member, PASSWORD).status_code == 302  # from the address that was locked
    (record,) = LoginLockoutLift.objects.all()
    assert (record.member, record.staff_user, record.addresses) == (locked_member, supervisor, LOCKED_IP)
    timeline = list(member_page(client, locked_member).context["timeline"])
    lifted = next(item for item in timeline if item.kind == "lockout_lift")
    assert lifted.staff_user == supervisor and LOCKED_IP in lifted.detail


def test_lifting_a_login_that_is_not_locked_changes_nothing(client, make_staff, db):
    member = MemberFactory()
    member_login(member, "wrong-password")
    client.force_login(make_staff("cx_supervisor"))
    page = member_page(client, member).content.decode()
    assert "最近のパスワード誤り 1 回" in page and 'id="lift-lockout"' not in page
    response = lift(client, member)
    assert "制限されていません" in response.content.decode()
    assert not LoginLockoutLift.objects.exists()


@pytest.mark.parametrize("role", ["ops", "finance"])
def test_roles_without_members_cannot_lift(client, make_staff, locked_member, role):
    client.force_login(make_staff(role))
    assert lift(client, locked_member).status_code == 403
    assert member_login(locked_member, PASSWORD).status_code == 429
