"""「今すぐ実行」: a staff user starts a scheduled job from the admin (docs/jobs.md).

The run is the one beat starts — the same Celery task, so the same lock and the same record —
queued for the user: its ``JobRun`` row is written at once (*queued*, with who asked), listed in
the admin before a worker takes it; the worker's run takes that row over (running, then
succeeded or failed; *skipped* when another run holds the job's lock). A second click while a run
of the job is queued or running is refused with that run, and nothing is queued.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.broker import task_send
from jobs import tasks
from jobs.models import JobRun

# The scheduled jobs, each with the permission that runs it now and the task beat sends.
RUN_NOW = {
    JobRun.Kind.EXPIRY: ("jobs.run_expiry", tasks.expire_points_task),
    JobRun.Kind.SUBSCRIPTIONS: ("jobs.run_subscriptions", tasks.run_subscriptions_task),
    JobRun.Kind.GRANTS: ("jobs.run_grants", tasks.sweep_grants_task),
    JobRun.Kind.REMINDERS: ("jobs.run_reminders", tasks.send_expiry_reminders_task),
}
QUEUE_UNREACHABLE = "The job queue could not be reached, so the run did not start: nothing was done."


class RunNowRefused(Exception):
    """The job was not queued, with a message for the staff user; ``run`` is the run in the way."""

    def __init__(self, message, run: JobRun | None = None):
        super().__init__(str(message))
        self.run = run


def job_may_run_now(*, kind: str, user) -> bool:
    return kind in RUN_NOW and user.has_perm(RUN_NOW[kind][0])


def job_in_progress(*, kind: str, now: dt.datetime | None = None) -> JobRun | None:
    """A run of ``kind`` that is alive: running with a recent heartbeat, or queued recently (a
    queued row older than the heartbeat's stale window lost its message or waits behind a long
    job: a new run may be queued; the lock keeps the two apart)."""
    stale_before = (now or timezone.now()) - dt.timedelta(seconds=settings.JOBS_HEARTBEAT_STALE_SECONDS)
    return (
        JobRun.objects.filter(kind=kind)
        .filter(
            Q(status=JobRun.Status.RUNNING, heartbeat_at__gte=stale_before)
            | Q(status=JobRun.Status.QUEUED, started_at__gte=stale_before)
        )
        .order_by("-started_at")
        .first()
    )


def job_run_now(*, kind: str, staff_user) -> JobRun:
    """Queue a run of the scheduled job ``kind`` for ``staff_user`` and hand it to a worker.
    Returns the run (already finished when tasks run eagerly)."""
    if not job_may_run_now(kind=kind, user=staff_user):
        raise RunNowRefused(_("Your role may not run this job."))
    now = timezone.now()
    with transaction.atomic():
        busy = job_in_progress(kind=kind, now=now)
        if busy is not None:
            raise RunNowRefused(_("This job is already running or about to: see its run below."), run=busy)
        run = JobRun.objects.create(
            kind=kind, status=JobRun.Status.QUEUED, cutoff=now, started_at=now, requested_by=staff_user
        )
    if not task_send(RUN_NOW[kind][1], (run.pk,), what=f"The {kind} job run now"):
        JobRun.objects.filter(pk=run.pk, status=JobRun.Status.QUEUED).update(
            status=JobRun.Status.FAILED, finished_at=timezone.now(), error=QUEUE_UNREACHABLE
        )
        raise RunNowRefused(
            _("The job queue cannot be reached just now, so the job did not start. Please try again in a few minutes."),
            run=JobRun.objects.get(pk=run.pk),
        )
    run.refresh_from_db()
    return run
