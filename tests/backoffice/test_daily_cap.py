"""A staff user's daily cap on points added in total (ssr_points/roles.py, DAILY_POINTS_ADDED_CAP):
below the per-adjustment limit, many small additions in a row stop at the role's cap; beyond it
the form asks for a supervisor and the ledger is unchanged."""

import datetime as dt
import threading
import uuid

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from ssr_points.exceptions import DailyAdditionCapReached
from ssr_points.models import Entry
from ssr_points.roles import DAILY_POINTS_ADDED_CAP, daily_points_added_cap
from ssr_points.services import points_adjust_by_staff
from tests.factories import MemberFactory


def adjust(client, member, points, *, key=None, step="confirm"):
    url = reverse("admin:subscriptions_member_adjust_points", args=[member.pk])
    data = {"points": points, "reason": "お詫び", "idempotency_key": str(key or uuid.uuid4()), step: "1"}
    return client.post(url, data, follow=True)


def messages_of(response) -> str:
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


def added(member) -> int:
    return sum(Entry.objects.filter(member=member, kind=Entry.Kind.ADJUSTMENT).values_list("points", flat=True))


def test_the_caps_are_by_role_and_a_supervisors_is_larger(make_staff):
    assert DAILY_POINTS_ADDED_CAP["cx_agent"] < DAILY_POINTS_ADDED_CAP["cx_supervisor"]
    assert daily_points_added_cap(make_staff("cx_agent")) == DAILY_POINTS_ADDED_CAP["cx_agent"]
    assert daily_points_added_cap(make_staff("cx_supervisor")) == DAILY_POINTS_ADDED_CAP["cx_supervisor"]
    both = make_staff("cx_agent")
    both.groups.add(*make_staff("cx_supervisor").groups.all())
    assert daily_points_added_cap(both) == DAILY_POINTS_ADDED_CAP["cx_supervisor"]  # the largest role counts
    assert daily_points_added_cap(make_staff("ops")) == 0
    assert daily_points_added_cap(make_staff(superuser=True)) is None


def test_an_agent_adds_up_to_the_cap_over_several_members_then_is_sent_to_a_supervisor(
    client, make_staff, settings, assert_ledger_ok
):
    settings.LANGUAGE_CODE = "en"
    cap = DAILY_POINTS_ADDED_CAP["cx_agent"]
    client.force_login(make_staff("cx_agent"))
    first, second = MemberFactory(), MemberFactory()
    for member in [first, first, second]:  # three adjustments of 1,000, each within the per-adjustment limit
        assert adjust(client, member, 1000).status_code == 200
    assert added(first) + added(second) == cap
    # One more point, to anyone: refused at the review already, and again at the confirmation.
    review = adjust(client, second, 1, step="preview")
    assert review.context["confirming"] is False and "supervisor" in messages_of(review)
    done = adjust(client, second, 1)
    assert "supervisor" in messages_of(done) and "3,000" in messages_of(done)
    assert added(first) + added(second) == cap
    # Removing points is not an addition; the cap still holds after it.
    adjust(client, first, -500)
    assert added(first) == 1500
    assert "supervisor" in messages_of(adjust(client, first, 100))
    # A supervisor adds what the agent could not.
    client.force_login(make_staff("cx_supervisor"))
    adjust(client, second, 1)
    assert added(second) == 1001
    assert_ledger_ok()


def test_a_supervisors_cap_is_theirs(client, make_staff, settings, assert_ledger_ok):
    settings.LANGUAGE_CODE = "en"
    cap = DAILY_POINTS_ADDED_CAP["cx_supervisor"]
    client.force_login(make_staff("cx_supervisor"))
    member = MemberFactory()
    adjust(client, member, cap - 10)
    assert "supervisor" in messages_of(adjust(client, member, 11))
    adjust(client, member, 10)
    assert added(member) == cap
    assert_ledger_ok()


def test_a_superuser_has_no_daily_cap(client, make_staff, assert_ledger_ok):
    client.force_login(make_staff(superuser=True))
    member = MemberFactory()
    for _ in range(3):
        adjust(client, member, DAILY_POINTS_ADDED_CAP["cx_supervisor"])
    assert added(member) == 3 * DAILY_POINTS_ADDED_CAP["cx_supervisor"]
    assert_ledger_ok()


def test_yesterdays_additions_do_not_count(make_staff, assert_ledger_ok):
    agent = make_staff("cx_agent")
    member = MemberFactory()
    yesterday = timezone.localtime().replace(hour=12) - dt.timedelta(days=1)
    points_adjust_by_staff(member=member, points=1000, reason="昨日", staff_user=agent, now=yesterday)
    points_adjust_by_staff(member=member, points=1000, reason="昨日", staff_user=agent, now=yesterday)
    for _ in range(3):
        points_adjust_by_staff(member=member, points=1000, reason="今日", staff_user=agent)
    with pytest.raises(DailyAdditionCapReached):
        points_adjust_by_staff(member=member, points=1, reason="今日", staff_user=agent)
    assert_ledger_ok()


def test_the_same_confirmation_sent_again_at_the_cap_is_not_refused_and_adds_nothing(client, make_staff):
    client.force_login(make_staff("cx_agent"))
    member = MemberFactory()
    key = uuid.uuid4()
    adjust(client, member, 1000)
    adjust(client, member, 1000)
    adjust(client, member, 1000, key=key)
    again = adjust(client, member, 1000, key=key)
    assert again.redirect_chain, again.content  # back on the member page: the first entry stands
    assert added(member) == 3000


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_additions_at_once_cannot_both_slip_under_the_cap(roles, assert_ledger_ok):
    from tests.factories import StaffUserFactory

    agent = StaffUserFactory()
    agent.groups.add(roles["cx_agent"])
    members = [MemberFactory(), MemberFactory()]
    for member in members:
        points_adjust_by_staff(member=member, points=1000, reason="先", staff_user=agent)  # 1,000 left today
    barrier = threading.Barrier(2)
    outcomes = []

    def add(member):
        try:
            barrier.wait(timeout=10)
            points_adjust_by_staff(member=member, points=1000, reason="同時", staff_user=agent)
            outcomes.append("added")
        except DailyAdditionCapReached:
            outcomes.append("refused")
        except Exception as error:
            outcomes.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=add, args=(member,)) for member in members]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["added", "refused"]
    assert sum(added(member) for member in members) == DAILY_POINTS_ADDED_CAP["cx_agent"]
    assert_ledger_ok()


def test_beyond_the_cap_the_form_names_the_supervisors_who_can_make_the_adjustment(
    client, make_staff, roles, assert_ledger_ok
):
    """Not just "ask a supervisor": the active staff users in a role with a larger cap, by name;
    nobody inactive, nobody without the role, never the agent themself."""
    from tests.factories import StaffUserFactory

    agent = make_staff("cx_agent")
    hanako = StaffUserFactory(username="sv-hanako", first_name="花子", last_name="佐藤")
    hanako.groups.add(roles["cx_supervisor"])
    ken = StaffUserFactory(username="sv-ken")
    ken.groups.add(roles["cx_supervisor"])
    gone = StaffUserFactory(username="sv-gone", is_active=False)
    gone.groups.add(roles["cx_supervisor"])
    ops = make_staff("ops")
    ops.username = "ops-taro"
    ops.save()
    StaffUserFactory(username="admin-root", is_superuser=True)

    client.force_login(agent)
    member = MemberFactory()
    for _ in range(3):
        adjust(client, member, 1000)
    for step in ["preview", "confirm"]:  # said at the review, and again if the confirmation is sent anyway
        text = messages_of(adjust(client, member, 1, step=step))
        assert "この調整ができる方：" in text
        assert "佐藤 花子（sv-hanako）" in text  # family name first, then the login
        assert "sv-ken" in text
        for not_an_approver in ["sv-gone", "ops-taro", "admin-root", agent.username]:
            assert not_an_approver not in text
    assert added(member) == 3000

    # A supervisor at their own cap: nobody has a larger role, so the superusers are named.
    supervisor = make_staff("cx_supervisor")
    client.force_login(supervisor)
    adjust(client, member, DAILY_POINTS_ADDED_CAP["cx_supervisor"])
    text = messages_of(adjust(client, member, 1, step="preview"))
    assert "admin-root" in text and "sv-hanako" not in text
    assert_ledger_ok()


def test_one_request_key_copied_into_other_members_forms_counts_against_the_cap_each_time(
    client, make_staff, settings, assert_ledger_ok
):
    """Issue 23, break 1: the key of one form pasted into five other members' forms added 6,000
    points against a 3,000 cap (the cap skipped a key the agent had used, the ledger deduplicates
    per member)."""
    settings.LANGUAGE_CODE = "en"
    cap = DAILY_POINTS_ADDED_CAP["cx_agent"]
    client.force_login(make_staff("cx_agent"))
    key = uuid.uuid4()
    members = [MemberFactory() for _ in range(6)]
    answers = [adjust(client, member, 1000, key=key) for member in members]
    assert sum(added(member) for member in members) == cap
    assert all("supervisor" in messages_of(answer) for answer in answers[3:])
    # The same request again for the same member is still one adjustment, not a refusal.
    again = adjust(client, members[0], 1000, key=key)
    assert "supervisor" not in messages_of(again) and added(members[0]) == 1000
    assert_ledger_ok()
