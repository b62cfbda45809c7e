"""Expiring-soon reminders: one Japanese email per member and expiry date, never twice."""

import datetime as dt

import pytest
from django.core import mail

from jobs.models import ExpiryReminder, JobRun
from jobs.services import reminders_run
from ssr_points.services import points_redeem
from tests.factories import MemberFactory
from tests.jobs.conftest import tokyo

NOW = tokyo(2026, 3, 1, 9, 0)


@pytest.fixture(autouse=True)
def _site_url(settings):
    settings.SITE_URL = "https://rewards.example"


def test_one_email_per_expiry_date_with_amount_date_and_exchange_link(member, grant):
    grant(member, 20, at=tokyo(2025, 3, 10, 9))  # expires 2026-03-10
    grant(member, 5, at=tokyo(2025, 3, 10, 18))  # same expiry instant: same email
    grant(member, 30, at=tokyo(2025, 3, 20, 9))  # expires 2026-03-20
    grant(member, 40, at=tokyo(2025, 5, 1, 9))  # 2026-05-01: beyond 30 days
    run = reminders_run(now=NOW)
    assert (run.status, run.items, run.members, run.points) == (JobRun.Status.SUCCEEDED, 2, 1, 55)
    assert len(mail.outbox) == 2
    first, second = sorted(mail.outbox, key=lambda m: m.subject)
    assert first.to == [member.user.email]
    # The last valid day everywhere (docs/rules.md §4): expires 2026-03-10 00:00 JST → valid until 9 March.
    assert "25ポイント" in first.subject and "2026年3月9日まで" in first.subject
    assert "25 ポイント" in first.body and "2026年3月9日まで有効" in first.body
    assert "2026年3月10日" not in first.subject + first.body
    html = first.alternatives[0]
    assert html.mimetype == "text/html" and "2026年3月9日まで有効" in html.content
    assert "https://rewards.example/exchange/" in first.body
    assert member.name in first.body
    assert "30ポイント" in second.subject and "2026年3月19日まで" in second.subject


def test_rerunning_never_sends_a_reminder_twice(member, grant):
    grant(member, 20, at=tokyo(2025, 3, 10, 9))
    reminders_run(now=NOW)
    reminders_run(now=NOW + dt.timedelta(hours=1))
    reminders_run(now=NOW + dt.timedelta(days=5))
    assert len(mail.outbox) == 1
    assert ExpiryReminder.objects.get().sent_at is not None


def test_the_window_ends_exactly_thirty_days_ahead(member, grant):
    grant(member, 7, at=tokyo(2025, 3, 31, 9))  # expires 2026-03-31 00:00 = NOW + 29 d 15 h
    grant(member, 8, at=tokyo(2025, 4, 1, 9))  # expires 2026-04-01 00:00: outside at 09:00 on 1 March
    reminders_run(now=NOW)
    assert [m.subject.count("7ポイント") for m in mail.outbox] == [1]
    boundary = tokyo(2026, 3, 2, 0, 0)  # exactly 30 days before 2026-04-01 00:00
    reminders_run(now=boundary)
    assert len(mail.outbox) == 2 and "8ポイント" in mail.outbox[1].subject


def test_spent_and_expired_points_are_not_reminded(member, grant):
    grant(member, 20, at=tokyo(2025, 3, 10, 9))
    points_redeem(member=member, points=20, reference="EX-1", reason="交換", now=NOW)
    grant(member, 9, at=tokyo(2025, 2, 28, 9))  # expired at 2026-02-28 00:00, before NOW
    run = reminders_run(now=NOW)
    assert run.items == 0 and mail.outbox == []


def test_a_failed_send_is_retried_by_the_next_run(member, grant, monkeypatch):
    grant(member, 20, at=tokyo(2025, 3, 10, 9))

    def broken_send(self, *args, **kwargs):
        raise ConnectionRefusedError("SMTP down")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", broken_send)
    run = reminders_run(now=NOW)
    assert (run.status, run.items) == (JobRun.Status.SUCCEEDED, 0)
    assert not ExpiryReminder.objects.exists()
    monkeypatch.undo()
    assert reminders_run(now=NOW).items == 1
    assert len(mail.outbox) == 1


def test_members_are_reminded_in_batches_and_a_member_without_email_is_skipped(db, grant):
    members = MemberFactory.create_batch(5)
    for m in members:
        grant(m, 10, at=tokyo(2025, 3, 10, 9))
        grant(m, 3, at=tokyo(2025, 3, 12, 9))
    members[0].user.email = ""
    members[0].user.save()
    run = reminders_run(now=NOW, batch_size=3)
    assert run.items == 8 and len(mail.outbox) == 8 and run.batches == 4
    assert {m.to[0] for m in mail.outbox} == {m.user.email for m in members[1:]}


def test_the_command_sends_with_now(member, grant, capsys):
    from django.core.management import call_command

    grant(member, 20, at=tokyo(2025, 3, 10, 9))
    call_command("send_expiry_reminders", "--now", NOW.isoformat())
    assert "items 1" in capsys.readouterr().out
    assert len(mail.outbox) == 1
