"""Celery tasks of the jobs: thin callers of ``jobs.services``, safe to run twice.

``acks_late``: a worker that dies mid-run gets the message redelivered, and a rerun is safe
(every job is rerunnable and only one run works at a time).
"""

from celery import shared_task

from jobs import services

HOUR = 60 * 60


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


@shared_task(acks_late=True, soft_time_limit=2 * HOUR - 300, time_limit=2 * HOUR)
def expire_points_task() -> dict:
    return _summary(services.expiry_run())


@shared_task(acks_late=True, soft_time_limit=2 * HOUR - 300, time_limit=2 * HOUR)
def send_expiry_reminders_task() -> dict:
    return _summary(services.reminders_run())


@shared_task(acks_late=True, soft_time_limit=2 * HOUR - 300, time_limit=2 * HOUR)
def run_subscriptions_task() -> dict:
    return _summary(services.subscriptions_run())


@shared_task(acks_late=True, soft_time_limit=HOUR - 300, time_limit=HOUR)
def sweep_grants_task() -> dict:
    run = services.grants_sweep()
    return _summary(run) if run is not None else {"run": None, "status": "nothing pending"}


@shared_task(acks_late=True, soft_time_limit=2 * HOUR - 300, time_limit=2 * HOUR)
def check_ledger_task() -> dict:
    """The whole-ledger check, started from the admin's ledger check page (not scheduled)."""
    return _summary(services.ledger_check_run())
