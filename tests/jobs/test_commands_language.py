"""Issue 23: the job commands print one language (English, like their help and errors), not the
run's Japanese job and status labels inside an English line."""

import io
import re

import pytest
from django.core.management import call_command
from django.utils import timezone

from jobs.models import JobRun

JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff00-\uffef]")


@pytest.mark.parametrize(
    ("command", "says"),
    [
        ("expire_points", "Points expiry run"),
        ("run_subscriptions", "Subscription orders run"),
        ("send_expiry_reminders", "Expiring-soon reminders run"),
        ("sweep_grants", "Grant sweep: nothing pending."),
    ],
)
def test_each_job_command_prints_english_only(db, command, says):
    out = io.StringIO()
    call_command(command, stdout=out, verbosity=0)
    printed = out.getvalue()
    assert says in printed
    assert not JAPANESE.search(printed), printed


def test_a_run_and_its_status_are_said_in_english(db):
    out = io.StringIO()
    call_command("expire_points", stdout=out, verbosity=0)
    assert re.search(r"Points expiry run \d+: Succeeded in", out.getvalue())


def test_a_skipped_run_is_said_in_english_too(db):
    from jobs.management.commands._job_command import JobCommand

    now = timezone.now()
    skipped = JobRun.objects.create(
        kind=JobRun.Kind.EXPIRY,
        status=JobRun.Status.SKIPPED,
        cutoff=now,
        started_at=now,
        finished_at=now,
        error="Another run of this job is in progress; this run exited without doing anything.",
    )
    command = JobCommand(stdout=io.StringIO())
    command.report(skipped)
    printed = command.stdout._out.getvalue()
    assert printed.startswith("Points expiry: Another run") and not JAPANESE.search(printed), printed
