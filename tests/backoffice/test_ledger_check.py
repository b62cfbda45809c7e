"""The ledger check: the command, the admin page for a few members, the whole-ledger job."""

import re
import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.urls import reverse

from jobs import services
from jobs.models import JobRun
from ssr_points.models import PointAccount
from tests.factories import JobRunFactory, MemberFactory


def test_a_clean_ledger_passes(back_office_data, capsys):
    call_command("check_ledger")
    assert "no violations" in capsys.readouterr().out


def test_a_broken_balance_is_printed_and_exits_with_1(back_office_data, capsys):
    PointAccount.objects.filter(member=back_office_data).update(balance=999)
    with pytest.raises(CommandError) as error:
        call_command("check_ledger")
    assert error.value.returncode == 1
    out = capsys.readouterr().out
    assert f"member {back_office_data.pk}: balance = Σ entries (expected 120, found 999)" in out


def test_the_command_checks_the_members_given(back_office_data, capsys):
    call_command("check_ledger", "--member", back_office_data.member_number)
    with pytest.raises(CommandError) as error:
        call_command("check_ledger", "--member", "no-such-member")
    assert error.value.returncode == 2


def test_admin_checks_the_members_typed_at_once_and_shows_their_violations(client, make_staff, back_office_data):
    client.force_login(make_staff("finance"))
    url = reverse("admin:ledger_check")
    clean = client.post(url, {"member_numbers": back_office_data.member_number})
    assert clean.context["violation_count"] == 0
    PointAccount.objects.filter(member=back_office_data).update(balance=999)
    broken = client.post(url, {"member_numbers": back_office_data.member_number})
    assert broken.context["violation_count"] == 2
    assert "balance = Σ entries" in broken.content.decode()
    assert not JobRun.objects.exists()  # a few members: no background job


def test_the_whole_ledger_check_runs_as_a_job_and_the_page_shows_its_violations(
    client, make_staff, back_office_data, django_capture_on_commit_callbacks
):
    MemberFactory.create_batch(2)
    PointAccount.objects.filter(member=back_office_data).update(balance=999)  # a deliberate violation
    client.force_login(make_staff("ops"))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:ledger_check"), {"member_numbers": ""})
    assert response.status_code == 302  # back to the page, where the run is listed
    run = JobRun.objects.get(kind=JobRun.Kind.LEDGER_CHECK)
    assert (run.status, run.members, run.items) == (JobRun.Status.SUCCEEDED, 3, 2)
    assert {finding["rule"] for finding in run.findings} == {"balance = Σ entries", "balance = Σ lot.remaining − debt"}
    assert {finding["member_number"] for finding in run.findings} == {back_office_data.member_number}
    page = client.get(response["Location"])
    assert page.context["shown_run"] == run
    body = page.content.decode()
    assert "balance = Σ entries" in body and back_office_data.member_number in body


def test_with_the_broker_down_starting_the_check_says_so_instead_of_failing(
    client, make_staff, back_office_data, broker_unreachable
):
    client.force_login(make_staff("ops"))
    response = client.post(reverse("admin:ledger_check"), {"member_numbers": ""}, follow=True)
    assert response.status_code == 200
    assert "ジョブキューに接続できないため" in response.content.decode()
    assert not JobRun.objects.exists()


def test_the_page_says_when_the_whole_ledger_is_clean(client, make_staff, back_office_data):
    services.ledger_check_run()
    client.force_login(make_staff("cx_supervisor"))
    page = client.get(reverse("admin:ledger_check"))
    assert page.context["shown_run"].items == 0
    assert "ledger-check-run" in page.content.decode()


def test_only_the_first_violations_are_kept_but_all_are_counted(client, make_staff, back_office_data, monkeypatch):
    monkeypatch.setattr(services, "LEDGER_CHECK_FINDINGS_KEPT", 1)
    PointAccount.objects.filter(member=back_office_data).update(balance=999)
    run = services.ledger_check_run()
    assert (run.items, len(run.findings)) == (2, 1)
    client.force_login(make_staff("finance"))
    assert client.get(reverse("admin:ledger_check")).context["shown_run"] == run


def test_starting_the_check_needs_the_csrf_token(make_staff, back_office_data, django_capture_on_commit_callbacks):
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_staff("finance"))
    url = reverse("admin:ledger_check")
    assert client.post(url, {"member_numbers": ""}).status_code == 403
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', client.get(url).text).group(1)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url, {"member_numbers": "", "csrfmiddlewaretoken": token}).status_code == 302
    assert JobRun.objects.filter(kind=JobRun.Kind.LEDGER_CHECK).count() == 1


@pytest.mark.parametrize("role", ["cx_agent", None])
def test_staff_without_the_permission_cannot_see_or_start_the_check(
    client, make_staff, back_office_data, role, django_capture_on_commit_callbacks
):
    client.force_login(make_staff(role))
    url = reverse("admin:ledger_check")
    assert client.get(url).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url, {"member_numbers": ""}).status_code == 403
    assert not JobRun.objects.exists()


@pytest.fixture
def ledger_check_in_progress(db):
    """Another whole-ledger check, running: its row and, on PostgreSQL, its advisory lock held
    by another connection (a worker's)."""
    running = JobRunFactory(kind=JobRun.Kind.LEDGER_CHECK)
    if connection.vendor != "postgresql":
        yield running
        return
    locked, done = threading.Event(), threading.Event()

    def worker():
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_lock(%s)", [services._lock_key(JobRun.Kind.LEDGER_CHECK)])
                locked.set()
                done.wait(timeout=30)
                cursor.execute("SELECT pg_advisory_unlock(%s)", [services._lock_key(JobRun.Kind.LEDGER_CHECK)])
        finally:
            connection.close()

    thread = threading.Thread(target=worker)
    thread.start()
    assert locked.wait(timeout=30)
    yield running
    done.set()
    thread.join(timeout=30)


def test_a_start_while_a_check_runs_is_recorded_as_skipped(
    client, make_staff, back_office_data, ledger_check_in_progress, django_capture_on_commit_callbacks
):
    client.force_login(make_staff("finance"))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:ledger_check"), {"member_numbers": ""})
    response = client.get(reverse("admin:ledger_check"))
    skipped = JobRun.objects.exclude(pk=ledger_check_in_progress.pk).get()
    assert (skipped.kind, skipped.status, skipped.members) == (JobRun.Kind.LEDGER_CHECK, JobRun.Status.SKIPPED, 0)
    ledger_check_in_progress.refresh_from_db()
    assert ledger_check_in_progress.status == JobRun.Status.RUNNING
    assert response.context["runs"] == [skipped, ledger_check_in_progress]
    assert response.context["shown_run"] == ledger_check_in_progress  # the page shows the running one
