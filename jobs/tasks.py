"""Celery tasks of the jobs: thin callers of ``jobs.services``, safe to run twice.

``acks_late`` and ``reject_on_worker_lost``: the message is acknowledged when the task ends,
and handed back to the broker when the process running it dies (``kill -9``, the OOM killer),
so another worker runs it again; a rerun is safe (every job is rerunnable, only one run works
at a time, and the new run closes the dead one: docs/jobs.md, "A dead worker"). A task that
hits its time limit is failed and acknowledged, not retried.
"""

from importlib import import_module

from celery import shared_task
from django.conf import settings

from jobs import services
from jobs.models import JobRun

HOUR = 60 * 60
LIMIT = settings.JOBS_TASK_TIME_LIMIT
JOB = {"acks_late": True, "reject_on_worker_lost": True, "soft_time_limit": LIMIT - 300, "time_limit": LIMIT}


def _summary(run) -> dict:
    return {
        "run": run.pk,
        "status": run.status,
        "lots": run.lots,
        "points": run.points,
        "members": run.members,
        "items": run.items,
        "batches": run.batches,
    }


def _job(task, run_job) -> dict:
    """Run the job; a message handed back after its worker died that finds the job locked
    tries again once the dead run's heartbeat is stale.

    The killed process's PostgreSQL session can outlive it (it was waiting on a row lock) and
    hold the job's lock for a moment; its running row still looks alive then. Skipping would
    leave the night's work to the next night, so the redelivered task retries after the
    heartbeat's stale window: by then the lock is free, or its holder is found dead and ended
    (``jobs.services``), or a live run holds it and this one is rightly skipped for good.
    """
    run = run_job()
    handed_back = (task.request.delivery_info or {}).get("redelivered") or task.request.retries
    if run.status == JobRun.Status.SKIPPED and handed_back:
        raise task.retry(
            countdown=settings.JOBS_HEARTBEAT_STALE_SECONDS + settings.JOBS_HEARTBEAT_SECONDS, max_retries=2
        )
    return _summary(run)


# ``queued_id``: the run a staff user queued with 「今すぐ実行」 (jobs/run_now.py); beat sends none.


@shared_task(bind=True, **JOB)
def expire_points_task(self, queued_id: int | None = None) -> dict:
    return _job(self, lambda: services.expiry_run(queued_id=queued_id))


@shared_task(bind=True, **JOB)
def send_expiry_reminders_task(self, queued_id: int | None = None) -> dict:
    return _job(self, lambda: services.reminders_run(queued_id=queued_id))


@shared_task(bind=True, **JOB)
def run_subscriptions_task(self, queued_id: int | None = None) -> dict:
    return _job(self, lambda: services.subscriptions_run(queued_id=queued_id))


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, soft_time_limit=HOUR - 300, time_limit=HOUR)
def sweep_grants_task(self, queued_id: int | None = None) -> dict:
    run = services.grants_sweep(queued_id=queued_id)
    if run is None:
        return {"run": None, "status": "nothing pending"}
    return _job(self, lambda: run)


@shared_task(bind=True, **JOB)
def check_ledger_task(self) -> dict:
    """The whole-ledger check, started from the admin's ledger check page (not scheduled)."""
    return _job(self, services.ledger_check_run)


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=HOUR - 300, time_limit=HOUR)
def clear_sessions_task() -> dict:
    """Delete the expired sessions (Django's ``clearsessions``): they live in PostgreSQL."""
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
    return {"status": "done"}
