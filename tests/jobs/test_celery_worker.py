"""One end-to-end run through a real Celery worker and the real Redis broker (not eager).

Starts ``celery -A config worker`` as a subprocess on the test database, on a queue of its
own, sends it the grant of a shipped order and an expiry run, and always stops it.
"""

import os
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from config.celery import app
from fulfilment.services import order_mark_shipped
from jobs.models import JobRun
from jobs.tasks import expire_points_task
from ssr_points.models import Lot
from ssr_points.services import points_grant_for_order
from tests.factories import CreatedOrderFactory, OrderFactory
from tests.faults.conftest import test_database_url
from tests.jobs.conftest import tokyo

pytestmark = [pytest.mark.celery_worker, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def worker(tmp_path):
    if not settings.REDIS_URL:
        pytest.skip("needs a Redis broker: set REDIS_URL (CI does)")
    if connection.vendor != "postgresql":
        pytest.skip("the worker shares the test database: needs PostgreSQL (set DATABASE_URL)")
    queue = f"test-worker-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "DATABASE_POOL": "0",
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    celery = Path(sys.executable).with_name("celery")
    log = tmp_path / "worker.log"
    with log.open("w") as out:
        process = subprocess.Popen(  # noqa: S603 - our own venv's celery, fixed arguments
            [str(celery), "-A", "config", "worker", "-l", "info", "-Q", queue, "-P", "solo", "-n", f"{queue}@%h"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    previous = {"task_always_eager": app.conf.task_always_eager, "task_default_queue": app.conf.task_default_queue}
    app.conf.update(task_always_eager=False, task_default_queue=queue)
    try:
        yield process, log
    finally:
        app.conf.update(**previous)
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def wait_for(check, *, timeout=60, log=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out; worker log:\n{log.read_text() if log else ''}")


def test_a_real_worker_grants_a_shipped_order_and_runs_the_expiry(worker, assert_ledger_ok):
    process, log = worker
    order = CreatedOrderFactory(pv=Decimal("180"))
    order_mark_shipped(order=order)  # enqueues the grant on commit: to Redis, not run here
    due = OrderFactory(pv=Decimal("100"), shipped_at=tokyo(2024, 1, 10, 12))
    points_grant_for_order(order=due, now=due.shipped_at)  # a lot that expired on 2025-01-10
    wait_for(lambda: Lot.objects.filter(order=order).exists(), log=log)
    assert Lot.objects.get(order=order).amount == 18
    result = expire_points_task.apply_async(ignore_result=False)  # results are off by default
    summary = result.get(timeout=60)
    assert summary["status"] == JobRun.Status.SUCCEEDED and summary["lots"] == 1 and summary["points"] == 10
    assert JobRun.objects.get(kind=JobRun.Kind.EXPIRY).status == JobRun.Status.SUCCEEDED
    assert process.poll() is None, log.read_text()
    text = log.read_text()
    assert "order_grant_task" in text and "expire_points_task" in text and "succeeded" in text
    assert_ledger_ok()
