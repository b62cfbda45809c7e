"""A real Celery worker's pool process is ``kill -9``ed in the middle of an expiry run (issue 10,
break 5): the message is handed back and run again, the dead run is closed as interrupted and
named by the run that finished the work, and every due lot expired exactly once.

Before: the message was acknowledged when the process died (``task_reject_on_worker_lost``
off), nothing ran again, and the ``JobRun`` stayed "running" for ever.

The run is stopped at a known point: this test holds the row lock of one member's point
account, so the run commits its batches up to that member and then waits on the lock. The
killed process's PostgreSQL session lives on, still waiting (PostgreSQL notices the process
is gone only when it next writes to it) and still holding the job's lock: the handed-back task
finds the job locked by a run that looks alive, tries again once its heartbeat is stale, and
this test lets go of the account once the second attempt is recorded.
"""

import os
import signal
from collections import Counter
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from jobs.models import JobRun
from jobs.tasks import expire_points_task
from ssr_points.models import Entry, Lot, PointAccount
from tests.factories import MemberFactory
from tests.faults.conftest import WORKER_APP_NAME, celery_worker, wait_for
from tests.jobs.conftest import grant_points, tokyo

pytestmark = [pytest.mark.postgres, pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

MEMBERS, LOTS_EACH, BATCH = 12, 2, 4  # 24 due lots, batches of 4 lots = 2 members


def pool_processes(worker) -> list[int]:
    return [int(pid) for pid in Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()]


def waiting_on_a_lock(app_name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = %s "
            "AND wait_event_type = 'Lock'",
            [app_name],
        )
        return cursor.fetchone()[0] > 0


def test_a_worker_killed_mid_expiry_run_has_its_task_run_again_and_every_lot_expires_once(tmp_path, queue):
    members = [MemberFactory() for _ in range(MEMBERS)]
    for member in members:
        for day in range(LOTS_EACH):
            grant_points(member, 10 + day, at=tokyo(2024, 1, 5 + day, 10))  # expired in January 2025
    due_points = sum(Lot.objects.values_list("remaining", flat=True))
    held = members[MEMBERS // 2]  # the run commits batches for the members before this one, then waits

    params = connection.get_connection_params()
    for option in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(option, None)
    blocker = psycopg.connect(**params)  # not autocommit: the row lock lasts until rollback
    try:
        blocker.execute(f"SELECT 1 FROM {PointAccount._meta.db_table} WHERE member_id = %s FOR UPDATE", [held.pk])
        with celery_worker(
            tmp_path,
            queue=queue,
            pool="prefork",
            SSR_POINTS_EXPIRY_BATCH_SIZE=BATCH,
            JOBS_HEARTBEAT_SECONDS=1,
            JOBS_HEARTBEAT_STALE_SECONDS=3,
        ) as (worker, log):
            expire_points_task.delay()

            def run_waiting_after_a_batch():
                if not waiting_on_a_lock(WORKER_APP_NAME):
                    return None
                running = JobRun.objects.filter(kind=JobRun.Kind.EXPIRY, status=JobRun.Status.RUNNING)
                return running.filter(batches__gte=1).first()

            dead = wait_for(
                run_waiting_after_a_batch,
                timeout=60,
                what="the run to commit a batch and wait on the held account",
                logs=[log],
            )
            [pool_process] = pool_processes(worker)
            os.kill(pool_process, signal.SIGKILL)
            # The message comes back; its first attempt finds the job locked and is recorded.
            wait_for(
                lambda: JobRun.objects.filter(kind=JobRun.Kind.EXPIRY, pk__gt=dead.pk).exists(),
                timeout=60,
                what="the handed-back task to run",
                logs=[log],
            )
            blocker.rollback()
            finished = wait_for(
                lambda: JobRun.objects.filter(kind=JobRun.Kind.EXPIRY, status=JobRun.Status.SUCCEEDED).first(),
                timeout=90,
                what="a run to finish the work",
                logs=[log],
            )
            text = log.read_text()
            assert "SIGKILL" in text or "WorkerLostError" in text, text
            assert worker.poll() is None, text
    finally:
        blocker.close()

    dead.refresh_from_db()
    assert dead.status == JobRun.Status.INTERRUPTED
    assert f"run {finished.pk} closed it" in dead.error
    assert f"Run {dead.pk} was left running by a process that stopped" in finished.notes
    # Totals exact: what the dead run committed plus what the finishing run did is every due lot.
    assert dead.lots + finished.lots == MEMBERS * LOTS_EACH
    assert dead.points + finished.points == due_points
    expiries = Counter(Entry.objects.filter(kind=Entry.Kind.EXPIRY).values_list("lot_id", flat=True))
    assert len(expiries) == MEMBERS * LOTS_EACH and set(expiries.values()) == {1}
    assert not Lot.objects.filter(remaining__gt=0).exists()
    assert not PointAccount.objects.exclude(balance=0).exists()
    others = JobRun.objects.exclude(pk__in=[dead.pk, finished.pk])
    assert set(others.values_list("status", flat=True)) <= {JobRun.Status.SKIPPED}
