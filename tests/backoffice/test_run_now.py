"""Issue 23, ops: each scheduled job has a 「今すぐ実行」 button in admin for the roles that may run
it, with a confirmation; the run is beat's own (the same task, the same lock), listed at once, and a
second click while a run is in progress says so and queues nothing. Job runs' titles and
breadcrumbs are in Japan time, like their fields."""

import datetime as dt
import threading

import pytest
from django.contrib.messages import get_messages
from django.db import close_old_connections, connection
from django.urls import reverse
from django.utils import timezone

from jobs.models import JobRun
from jobs.run_now import RUN_NOW
from jobs.services import expiry_run
from tests.factories import MemberFactory
from tests.jobs.conftest import grant_points, tokyo

SCHEDULED = ["expiry", "subscriptions", "grants", "reminders"]
RUNS_FOR = {  # what each role may run now (ssr_points/roles.py)
    "ops": set(SCHEDULED),
    "cx_supervisor": {"grants"},
    "finance": set(),
    "superuser": set(SCHEDULED),
}


def user_for(make_staff, account):
    return make_staff(superuser=True) if account == "superuser" else make_staff(account)


def said(response) -> str:
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


@pytest.mark.parametrize("account", list(RUNS_FOR))
def test_the_job_runs_list_has_a_run_now_button_for_each_job_the_role_may_run(client, make_staff, account):
    client.force_login(user_for(make_staff, account))
    page = client.get(reverse("admin:jobs_jobrun_changelist"))
    assert page.status_code == 200
    body = page.content.decode()
    shown = {kind for kind in SCHEDULED if f'id="run-now-{kind}"' in body}
    assert shown == RUNS_FOR[account]
    for kind in SCHEDULED:
        url = reverse("admin:jobs_jobrun_run_now", args=[kind])
        assert client.get(url).status_code == (200 if kind in RUNS_FOR[account] else 403), (account, kind)
        if kind not in RUNS_FOR[account]:
            assert client.post(url).status_code == 403
    assert not JobRun.objects.exists()  # a GET only asks; a refused POST runs nothing


def test_an_agent_has_no_job_runs_at_all(client, make_staff):
    client.force_login(make_staff("cx_agent"))
    assert client.post(reverse("admin:jobs_jobrun_run_now", args=["expiry"])).status_code == 403
    assert not JobRun.objects.exists()


def test_ops_confirm_and_the_run_is_listed_at_once_with_who_ran_it(client, make_staff, grant_points_yesterday):
    ops = make_staff("ops")
    client.force_login(ops)
    url = reverse("admin:jobs_jobrun_run_now", args=["expiry"])
    confirmation = client.get(url).content.decode()
    assert "ポイント失効を今すぐ実行" in confirmation and "失効を記録します" in confirmation

    response = client.post(url, follow=True)
    (run,) = JobRun.objects.all()
    assert response.redirect_chain[-1][0] == reverse("admin:jobs_jobrun_changelist")
    assert (run.kind, run.requested_by, run.status) == ("expiry", ops, JobRun.Status.SUCCEEDED)  # tasks are eager here
    assert response.context["cl"].result_list[0] == run  # listed at once, at the top
    assert reverse("admin:jobs_jobrun_change", args=[run.pk]) in said(response)


def test_a_requested_grant_sweep_is_listed_even_when_nothing_was_owed(client, make_staff):
    client.force_login(make_staff("cx_supervisor"))
    client.post(reverse("admin:jobs_jobrun_run_now", args=["grants"]))
    (run,) = JobRun.objects.all()
    assert (run.kind, run.status, run.items) == ("grants", JobRun.Status.SUCCEEDED, 0)


@pytest.mark.parametrize("status", [JobRun.Status.RUNNING, JobRun.Status.QUEUED])
def test_a_second_click_while_a_run_is_in_progress_says_so_and_queues_nothing(client, make_staff, status):
    now = timezone.now()
    busy = JobRun.objects.create(kind="expiry", status=status, cutoff=now, started_at=now, heartbeat_at=now)
    client.force_login(make_staff("ops"))
    url = reverse("admin:jobs_jobrun_run_now", args=["expiry"])
    confirmation = client.get(url).content.decode()
    assert 'id="run-in-progress"' in confirmation and " disabled" in confirmation
    response = client.post(url)
    assert "すでに実行中" in said(response)
    assert list(JobRun.objects.values_list("pk", flat=True)) == [busy.pk]


def test_a_run_left_by_a_dead_process_does_not_block_run_now(client, make_staff):
    stale = timezone.now() - dt.timedelta(hours=1)
    JobRun.objects.create(kind="expiry", cutoff=stale, started_at=stale, heartbeat_at=stale)
    client.force_login(make_staff("ops"))
    client.post(reverse("admin:jobs_jobrun_run_now", args=["expiry"]))
    statuses = dict(JobRun.objects.values_list("status", "requested_by"))
    assert JobRun.Status.SUCCEEDED in statuses  # the new run worked (and closed the dead one)


def test_with_the_queue_unreachable_the_run_is_listed_as_failed_and_the_user_told(
    client, make_staff, broker_unreachable
):
    client.force_login(make_staff("ops"))
    response = client.post(reverse("admin:jobs_jobrun_run_now", args=["expiry"]))
    assert "ジョブキューに接続できない" in said(response)
    (run,) = JobRun.objects.all()
    assert run.status == JobRun.Status.FAILED and "could not be reached" in run.error


def test_job_run_titles_and_breadcrumbs_are_in_japan_time(client, make_staff):
    started = dt.datetime(2026, 3, 1, 15, 5, tzinfo=dt.UTC)  # 2026-03-02 00:05 in Tokyo
    run = JobRun.objects.create(
        kind="expiry", status=JobRun.Status.SUCCEEDED, cutoff=started, started_at=started, finished_at=started
    )
    assert "2026-03-02 00:05" in str(run)
    client.force_login(make_staff("ops"))
    body = client.get(reverse("admin:jobs_jobrun_change", args=[run.pk])).content.decode()
    title = body.split("<title>", 1)[1].split("</title>", 1)[0]
    breadcrumbs = body.split('class="breadcrumbs"', 1)[1].split("</ol>", 1)[0]
    assert "2026-03-02 00:05" in title and "2026-03-02 00:05" in breadcrumbs
    assert "2026-03-01 15:05" not in body


def test_every_scheduled_job_can_be_run_now():
    assert set(RUN_NOW) == set(SCHEDULED)


@pytest.fixture
def grant_points_yesterday(db):
    member = MemberFactory()
    grant_points(member, 10, at=timezone.now() - dt.timedelta(days=400))
    return member


# -- the same lock as beat's run (PostgreSQL: the advisory lock, real threads) ----------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_while_beats_run_works_run_now_says_so_and_a_queued_run_is_skipped(client, make_staff):
    for member in MemberFactory.create_batch(3):
        grant_points(member, 10, at=tokyo(2025, 1, 5, 10))
    working = threading.Event()
    release = threading.Event()
    results = {}

    def beat_run():
        def hold(batch):
            working.set()
            assert release.wait(timeout=30)

        try:
            results["beat"] = expiry_run(now=tokyo(2026, 1, 6, 0, 5), batch_size=1, progress=hold)
        finally:
            connection.close()
            close_old_connections()

    thread = threading.Thread(target=beat_run)
    thread.start()
    try:
        assert working.wait(timeout=30)
        client.force_login(make_staff("ops"))
        response = client.post(reverse("admin:jobs_jobrun_run_now", args=["expiry"]))
        assert "すでに実行中" in said(response)
        # A run queued anyway (a click that raced the check) finds the lock taken: skipped, as beat's would be.
        now = timezone.now()
        queued = JobRun.objects.create(kind="expiry", status=JobRun.Status.QUEUED, cutoff=now, started_at=now)
        skipped = expiry_run(queued_id=queued.pk)
        assert (skipped.pk, skipped.status) == (queued.pk, JobRun.Status.SKIPPED)
    finally:
        release.set()
        thread.join(timeout=60)
    assert results["beat"].status == JobRun.Status.SUCCEEDED
    assert JobRun.objects.count() == 2
