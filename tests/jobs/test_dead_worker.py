"""Jobs survive a dead worker (issue 10, break 5): every task is handed back when its worker
dies and may run again; a run left "running" is told from a live one by its heartbeat, closed
as interrupted by the next run, which says so and works. The real ``kill -9`` of a Celery
worker is tests/faults/test_worker_killed.py."""

import datetime as dt
import time

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from config.celery import app
from jobs.models import JobRun
from jobs.services import _lock_key, expiry_run, job_run
from ssr_points.models import Lot
from tests.factories import JobRunFactory, MemberFactory
from tests.jobs.conftest import grant_points, tokyo


def test_every_task_is_handed_back_when_its_worker_dies_and_redis_waits_longer_than_the_longest_task():
    """Issue 10: the message was acknowledged when the pool process was killed, and Redis's 1 h
    visibility timeout was shorter than the 2 h limit of the jobs (a long run would start twice)."""
    app.loader.import_default_modules()
    ours = {name: task for name, task in app.tasks.items() if name.split(".")[0] in settings.INSTALLED_APPS}
    assert {"jobs.tasks.expire_points_task", "fulfilment.tasks.order_grant_task"} <= ours.keys()
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    for name, task in ours.items():
        assert task.acks_late and task.reject_on_worker_lost, name
        assert (task.time_limit or settings.CELERY_TASK_TIME_LIMIT) <= settings.JOBS_TASK_TIME_LIMIT < visibility, name


def test_a_running_row_whose_heartbeat_stopped_is_closed_by_the_next_run_which_says_so(db, assert_ledger_ok):
    """On SQLite the heartbeat decides (it used to wait 3 h); on PostgreSQL the free advisory lock does."""
    grant_points(MemberFactory(), 10, at=tokyo(2025, 1, 5, 10))
    long_ago = timezone.now() - dt.timedelta(seconds=settings.JOBS_HEARTBEAT_STALE_SECONDS + 60)
    dead = JobRunFactory(started_at=long_ago - dt.timedelta(minutes=5), heartbeat_at=long_ago)
    run = expiry_run(now=tokyo(2026, 1, 6, 0, 5))
    dead.refresh_from_db()
    assert dead.status == JobRun.Status.INTERRUPTED and dead.finished_at == run.started_at
    assert f"run {run.pk} closed it" in dead.error
    assert (run.status, run.lots) == (JobRun.Status.SUCCEEDED, 1)
    assert f"Run {dead.pk} was left running by a process that stopped" in run.notes
    assert_ledger_ok()


def test_on_sqlite_a_run_that_beats_is_not_taken_for_dead(db):
    if connection.vendor == "postgresql":
        pytest.skip("on PostgreSQL the advisory lock decides: tests below")
    JobRunFactory(started_at=timezone.now() - dt.timedelta(hours=5), heartbeat_at=timezone.now())
    assert expiry_run().status == JobRun.Status.SKIPPED


# -- PostgreSQL: the lock of a dead run's lingering session ---------------------------------------


def _session_holding_the_lock(kind: str) -> psycopg.Connection:
    """Another session holding the job's advisory lock, as a killed worker's session does
    while PostgreSQL has not noticed its process is gone."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    session = psycopg.connect(**params, autocommit=True)
    session.execute("SELECT pg_advisory_lock(%s)", [_lock_key(kind)])
    return session


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_dead_runs_session_that_still_holds_the_lock_is_ended_and_the_next_run_works(assert_ledger_ok):
    grant_points(MemberFactory(), 10, at=tokyo(2025, 1, 5, 10))
    lingering = _session_holding_the_lock(JobRun.Kind.EXPIRY)
    try:
        silent_since = timezone.now() - dt.timedelta(seconds=settings.JOBS_HEARTBEAT_STALE_SECONDS + 1)
        dead = JobRunFactory(started_at=silent_since, heartbeat_at=silent_since)
        run = expiry_run(now=tokyo(2026, 1, 6, 0, 5))
        assert (run.status, run.lots) == (JobRun.Status.SUCCEEDED, 1), run.error
        dead.refresh_from_db()
        assert dead.status == JobRun.Status.INTERRUPTED and f"run {run.pk}" in dead.error
        assert f"Run {dead.pk} was left running" in run.notes
        assert f"ended that session (pid {lingering.info.backend_pid})" in run.notes
        with pytest.raises(psycopg.OperationalError):
            lingering.execute("SELECT 1")
    finally:
        lingering.close()
    assert_ledger_ok()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_run_whose_heartbeat_is_fresh_keeps_its_lock_and_the_next_run_is_skipped():
    grant_points(MemberFactory(), 10, at=tokyo(2025, 1, 5, 10))
    holder = _session_holding_the_lock(JobRun.Kind.EXPIRY)
    try:
        JobRunFactory(started_at=timezone.now() - dt.timedelta(hours=1), heartbeat_at=timezone.now())
        run = expiry_run(now=tokyo(2026, 1, 6, 0, 5))
        assert run.status == JobRun.Status.SKIPPED
        assert holder.execute("SELECT 1").fetchone() == (1,)  # alive
        assert Lot.objects.filter(remaining__gt=0).count() == 1
    finally:
        holder.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_working_run_stamps_its_heartbeat_from_its_own_thread(settings):
    settings.JOBS_HEARTBEAT_SECONDS = 0.2
    seen = []

    def work(run):
        for _ in range(3):
            time.sleep(0.5)  # one long batch: nothing is saved by the run itself meanwhile
            seen.append(JobRun.objects.get(pk=run.pk).heartbeat_at)

    run = job_run(kind=JobRun.Kind.LEDGER_CHECK, cutoff=timezone.now(), work=work)
    assert run.status == JobRun.Status.SUCCEEDED
    assert run.started_at < seen[0] < seen[1] < seen[2] <= run.finished_at
