"""The jobs: points expiry, expiring-soon reminders, subscription runs, grant sweep (scheduled)
and the whole-ledger check (started from the admin).

Each job is a thin driver over the services that hold the rules (``ssr_points.services``,
``subscriptions.services``) and is recorded as a ``JobRun``. Only one run of a job works at
a time: on PostgreSQL a session advisory lock (``pg_try_advisory_lock``) decides, and a run
that finds it taken records itself as skipped and exits; the database also refuses a
second "running" row per job (SQLite's only lock). A running row's heartbeat tells a live
run from one whose process died: the next run closes the dead one as interrupted, says so
on both rows, and works. Every job's cutoff is "now" (or the ``now`` given), so a missed
night is caught up by the next run and a rerun changes nothing.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import threading
import time
import traceback
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, Sum
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from exchange.selectors import reward_suggested
from fulfilment.grants import pending_grants_deliver, pending_grants_exist
from fulfilment.services import subscription_order_due
from jobs.models import ExpiryReminder, JobRun
from ssr_points.batches import points_expire_due, points_grant_shipped_orders
from ssr_points.checks import ledger_check
from ssr_points.models import Lot
from ssr_points.selectors import points_available
from subscriptions.models import Member, Subscription
from subscriptions.templatetags.ssr_format import last_valid_day

logger = logging.getLogger(__name__)

LEDGER_CHECK_FINDINGS_KEPT = 500  # violations kept on the run for the admin page; all are counted

SKIPPED_MESSAGE = "Another run of this job is in progress; this run exited without doing anything."
INTERRUPTED_MESSAGE = (
    "The process running this job stopped before it finished (last sign of life {heartbeat}); "
    "run {run} closed it and picked up what was left."
)
PICKED_UP_NOTE = (
    "Run {run} was left running by a process that stopped (last sign of life {heartbeat}): "
    "closed as interrupted; this run picked up what it left."
)
EVICTED_NOTE = (
    "Its PostgreSQL session still held the job's lock without a sign of life since {heartbeat}: "
    "this run ended that session (pid {pids})."
)


# -- one run at a time, every run recorded ------------------------------------------------------


def _lock_key(kind: str) -> int:
    return zlib.crc32(f"ssr_rewards.jobs.{kind}".encode())


def _stale_before(now: dt.datetime) -> dt.datetime:
    """A running row whose last heartbeat is older than this belongs to a process that is gone."""
    return now - dt.timedelta(seconds=settings.JOBS_HEARTBEAT_STALE_SECONDS)


def _last_sign_of_life(run: JobRun) -> dt.datetime:
    return run.heartbeat_at or run.started_at


def _when(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S %Z")


def _stale_lock_holder_evicted(kind: str, key: int) -> list[int]:
    """The job's lock is taken: if the running row's heartbeat has stopped, its process is dead
    (or frozen) while its PostgreSQL session lingers and holds the lock — the session of a
    process killed while it waited on a row lock, or whose host vanished, can outlive it by
    minutes or hours. End that session so this run can work, and return its pids.

    Nothing is done while the running row beats, or when there is no running row (a run that
    is between taking the lock and recording itself, or a lock taken by hand)."""
    running = JobRun.objects.filter(kind=kind, status=JobRun.Status.RUNNING).first()
    if running is None or _last_sign_of_life(running) >= _stale_before(timezone.now()):
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = 0 AND objid = %s "
            "AND objsubid = 1 AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND pid <> pg_backend_pid()",
            [key],
        )
        pids = [row[0] for row in cursor.fetchall()]
        for pid in pids:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    if pids:
        logger.warning(
            "%s job: run %s has not beaten since %s; ended the PostgreSQL session(s) %s holding its lock.",
            kind,
            running.pk,
            _when(_last_sign_of_life(running)),
            pids,
        )
    return pids


def _lock_try(key: int, *, wait_seconds: float = 0.0) -> bool:
    deadline = time.monotonic() + wait_seconds
    with connection.cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
            if cursor.fetchone()[0]:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)


@contextmanager
def _advisory_lock(kind: str) -> Iterator[tuple[bool, list[int]]]:
    """PostgreSQL: a session-level advisory lock, held across the run's committed batches and
    released when the run ends (or its connection dies with the process). A lock held by the
    lingering session of a dead run (its heartbeat stopped) is taken back: that session is
    ended. Elsewhere: always "acquired"; the one-running-row constraint is the lock.

    Yields (acquired, pids of the sessions ended to get it)."""
    if connection.vendor != "postgresql":
        yield True, []
        return
    key = _lock_key(kind)
    evicted: list[int] = []
    acquired = _lock_try(key)
    if not acquired:
        evicted = _stale_lock_holder_evicted(kind, key)
        # A terminated session releases its locks as it exits: a moment, bounded here.
        acquired = bool(evicted) and _lock_try(key, wait_seconds=10)
    try:
        yield acquired, evicted
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def _run_start(
    *, kind: str, cutoff: dt.datetime, acquired: bool, evicted: list[int], queued_id: int | None = None
) -> JobRun:
    """Record the run as running; close the runs a dead process left running, saying so on both
    (the dead run's ``error`` names the run that picked up, that run's ``notes`` the dead one).
    ``queued_id``: the row a staff user's 「今すぐ実行」 queued (``job_queue``) becomes this run."""
    started = timezone.now()
    queued = JobRun.objects.filter(pk=queued_id, kind=kind, status=JobRun.Status.QUEUED) if queued_id else None
    if acquired:
        try:
            with transaction.atomic():
                leftovers = list(JobRun.objects.select_for_update().filter(kind=kind, status=JobRun.Status.RUNNING))
                if connection.vendor != "postgresql":
                    # No advisory lock: a running row is a crashed run once its heartbeat stopped.
                    leftovers = [run for run in leftovers if _last_sign_of_life(run) < _stale_before(started)]
                # Under the advisory lock no other run is alive: a "running" row is a crashed one.
                last_seen = {leftover.pk: _when(_last_sign_of_life(leftover)) for leftover in leftovers}
                notes = [PICKED_UP_NOTE.format(run=pk, heartbeat=seen) for pk, seen in last_seen.items()]
                if evicted and leftovers:
                    pids = ", ".join(map(str, evicted))
                    notes.append(EVICTED_NOTE.format(heartbeat=last_seen[leftovers[0].pk], pids=pids))
                JobRun.objects.filter(pk__in=last_seen).update(status=JobRun.Status.INTERRUPTED, finished_at=started)
                fields = {"cutoff": cutoff, "started_at": started, "heartbeat_at": started, "notes": "\n".join(notes)}
                if queued is not None and queued.update(status=JobRun.Status.RUNNING, **fields):
                    run = JobRun.objects.get(pk=queued_id)
                else:
                    run = JobRun.objects.create(kind=kind, **fields)
                for pk, seen in last_seen.items():
                    JobRun.objects.filter(pk=pk).update(error=INTERRUPTED_MESSAGE.format(heartbeat=seen, run=run.pk))
                    logger.warning("%s job: run %s: %s", kind, run.pk, PICKED_UP_NOTE.format(run=pk, heartbeat=seen))
                return run
        except IntegrityError:
            pass  # another run holds the "running" row
    logger.warning("%s job: %s", kind, SKIPPED_MESSAGE)
    skipped = {"cutoff": cutoff, "started_at": started, "finished_at": started, "error": SKIPPED_MESSAGE}
    if queued is not None and queued.update(status=JobRun.Status.SKIPPED, **skipped):
        return JobRun.objects.get(pk=queued_id)
    return JobRun.objects.create(
        kind=kind,
        status=JobRun.Status.SKIPPED,
        cutoff=cutoff,
        started_at=started,
        finished_at=started,
        error=SKIPPED_MESSAGE,
    )


class _Heartbeat:
    """While a run works, a thread stamps ``JobRun.heartbeat_at`` every ``JOBS_HEARTBEAT_SECONDS``
    (on its own database connection, so a long batch or a slow mail server does not delay it).
    When the process dies the stamps stop: the next run sees the row's heartbeat go stale."""

    def __init__(self, run: JobRun):
        self.run_id = run.pk
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"jobrun-{run.pk}-heartbeat", daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.stopped.set()
        self.thread.join(timeout=30)

    def _beat(self) -> None:
        try:
            while not self.stopped.wait(settings.JOBS_HEARTBEAT_SECONDS):
                try:
                    JobRun.objects.filter(pk=self.run_id, status=JobRun.Status.RUNNING).update(
                        heartbeat_at=timezone.now()
                    )
                except DatabaseError:
                    logger.warning("job run %s: heartbeat not recorded", self.run_id, exc_info=True)
                    connection.close()  # a broken connection is replaced on the next beat
        finally:
            connection.close()


def job_run(*, kind: str, cutoff: dt.datetime, work: Callable[[JobRun], None], queued_id: int | None = None) -> JobRun:
    """Run ``work(run)`` as the only running instance of job ``kind``, recording the run.

    ``work`` updates the run's counters as it goes (saved after each batch, so staff see a
    long run progress); a heartbeat thread stamps the row meanwhile. A failure is recorded
    with its traceback and raised again. ``queued_id``: the row 「今すぐ実行」 queued, which this
    run takes over (running, or skipped when another run holds the lock, as beat's would be).
    """
    with _advisory_lock(kind) as (acquired, evicted):
        run = _run_start(kind=kind, cutoff=cutoff, acquired=acquired, evicted=evicted, queued_id=queued_id)
        if run.status == JobRun.Status.SKIPPED:
            return run
        try:
            with _Heartbeat(run):
                work(run)
        except BaseException as error:
            run.status = JobRun.Status.FAILED if isinstance(error, Exception) else JobRun.Status.INTERRUPTED
            run.error = "".join(traceback.format_exception(error))[-5000:]
            run.finished_at = run.heartbeat_at = timezone.now()
            run.save()
            raise
        run.status = JobRun.Status.SUCCEEDED
        run.finished_at = run.heartbeat_at = timezone.now()
        run.save()
        return run


def _batch_recorded(run: JobRun, *, lots=0, points=0, members=0, items=0, seconds=0.0) -> None:
    run.lots += lots
    run.points += points
    run.members += members
    run.items += items
    run.batches += 1
    run.longest_batch_ms = max(run.longest_batch_ms, round(seconds * 1000))
    run.heartbeat_at = timezone.now()
    run.save(update_fields=["lots", "points", "members", "items", "batches", "longest_batch_ms", "heartbeat_at"])


# -- expiry ----------------------------------------------------------------------------------------


def expiry_run(
    *, now: dt.datetime | None = None, batch_size: int | None = None, progress=None, queued_id: int | None = None
) -> JobRun:
    """Record the expiry of every lot whose expiry instant is at or before ``now``."""
    cutoff = now or timezone.now()

    def work(run: JobRun) -> None:
        def on_batch(batch) -> None:
            _batch_recorded(run, lots=batch.lots, points=batch.points, members=batch.members, seconds=batch.seconds)
            if progress is not None:
                progress(batch)

        points_expire_due(at=cutoff, batch_size=batch_size, progress=on_batch)

    return job_run(kind=JobRun.Kind.EXPIRY, cutoff=cutoff, work=work, queued_id=queued_id)


# -- expiring-soon reminders -----------------------------------------------------------------------


def reminders_due(*, now: dt.datetime, days: int):
    """(member_id, expires_at, points) of spendable lots expiring within ``days`` of ``now``
    that no reminder covers yet, in (member, expiry) order: one query, streamed."""
    reminded = ExpiryReminder.objects.filter(member_id=OuterRef("member_id"), expires_at=OuterRef("expires_at"))
    return (
        Lot.objects.spendable(at=now)
        .filter(expires_at__lte=now + dt.timedelta(days=days))
        .filter(~Exists(reminded))
        .values("member_id", "expires_at")
        .annotate(points=Sum("remaining"))
        .order_by("member_id", "expires_at")
    )


def reminder_render(
    *, member: Member, expires_at: dt.datetime, points: int, available: int | None = None
) -> tuple[str, str, str]:
    """Subject, text and HTML of the expiring-soon reminder, in Japanese; the expiry is the last
    valid day (「2026年3月9日まで有効」 for points expiring 2026-03-10 00:00 JST).

    It suggests a reward the member can afford (``reward_suggested``) and links straight to its
    quantity step, and to the catalogue: from the email a placed exchange is link, log in, セーブ,
    続行, the agreement, 変更を保存. A signed-out member logs in first and lands where the link
    pointed (``?next=``). ``available``: the member's points now (read when not given)."""
    site = settings.SITE_URL.rstrip("/")
    available = points_available(member=member) if available is None else available
    suggestion = reward_suggested(member=member, expiring_points=points, available=available)
    context = {
        "member": member,
        "market": member.market,
        "points": points,
        "available": available,
        "expires_at": expires_at,
        "last_day": last_valid_day(expires_at, member.market.zone),
        "exchange_url": site + reverse("exchange:catalogue"),
        "suggestion": suggestion,
        "suggestion_url": site + reverse("exchange:quantity", args=[suggestion.pk]) if suggestion else "",
    }
    with translation.override("ja"):
        subject = " ".join(render_to_string("jobs/expiry_reminder_subject.txt", context).split())
        body = render_to_string("jobs/expiry_reminder_body.txt", context)
        html = render_to_string("jobs/expiry_reminder_body.html", context | {"subject": subject})
    return subject, body, html


def reminder_send(*, member: Member, expires_at: dt.datetime, points: int, now: dt.datetime) -> bool:
    """Email the member that ``points`` expire at ``expires_at``, at most once per (member, expiry).

    The reminder row is claimed (committed, unique) before the mail goes out, so two runs
    can never both send it; if sending fails the claim is removed and the next run retries.
    A run killed between claim and send leaves a claim without ``sent_at``: we would rather
    miss one reminder than send it twice. Returns whether an email was sent.
    """
    if not member.user.email:
        return False
    try:
        with transaction.atomic():
            reminder = ExpiryReminder.objects.create(
                member=member, expires_at=expires_at, points=points, claimed_at=now
            )
    except IntegrityError:
        return False
    try:
        available = points_available(member=member, at=now)
        subject, body, html = reminder_render(member=member, expires_at=expires_at, points=points, available=available)
        message = EmailMultiAlternatives(subject=subject, body=body, to=[member.user.email])
        message.attach_alternative(html, "text/html")
        message.send()
    except Exception:
        ExpiryReminder.objects.filter(pk=reminder.pk).delete()
        raise
    ExpiryReminder.objects.filter(pk=reminder.pk).update(sent_at=timezone.now())
    return True


def reminders_run(
    *,
    now: dt.datetime | None = None,
    days: int | None = None,
    batch_size: int = 1000,
    progress=None,
    queued_id: int | None = None,
) -> JobRun:
    """Email every member with points expiring within ``days`` (default 30) of ``now``: one
    email per member and expiry date, never twice for the same lots, whatever the number of runs."""
    cutoff = now or timezone.now()
    days = days if days is not None else settings.JOBS_REMINDER_DAYS

    def work(run: JobRun) -> None:
        due = reminders_due(now=cutoff, days=days).iterator(chunk_size=batch_size)
        while groups := list(itertools.islice(due, batch_size)):
            members = Member.objects.select_related("user", "market").in_bulk({g["member_id"] for g in groups})
            sent = points = 0
            reached = set()
            started = time.monotonic()
            for group in groups:
                try:
                    was_sent = reminder_send(
                        member=members[group["member_id"]],
                        expires_at=group["expires_at"],
                        points=group["points"],
                        now=cutoff,
                    )
                except Exception:
                    logger.exception("expiry reminder to member %s failed; the next run retries", group["member_id"])
                    continue
                if was_sent:
                    sent, points = sent + 1, points + group["points"]
                    reached.add(group["member_id"])
            _batch_recorded(run, points=points, members=len(reached), items=sent, seconds=time.monotonic() - started)
            if progress is not None:
                progress(sent)

    return job_run(kind=JobRun.Kind.REMINDERS, cutoff=cutoff, work=work, queued_id=queued_id)


# -- subscription runs -------------------------------------------------------------------------------


def subscriptions_run(
    *, now: dt.datetime | None = None, batch_size: int = 500, progress=None, queued_id: int | None = None
) -> JobRun:
    """Turn every active subscription due on or before today (local date of ``now``) into its
    order, with the member's bundled exchanges; each subscription in its own transaction."""
    cutoff = now or timezone.now()
    today = timezone.localdate(cutoff)

    def work(run: JobRun) -> None:
        due = list(
            Subscription.objects.filter(status=Subscription.Status.ACTIVE, next_shipment_date__lte=today)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        for start in range(0, len(due), batch_size):
            ids = due[start : start + batch_size]
            created = 0
            started = time.monotonic()
            for subscription in Subscription.objects.select_related("member").filter(pk__in=ids).order_by("pk"):
                if subscription_order_due(subscription=subscription, today=today) is not None:
                    created += 1
            _batch_recorded(run, members=len(ids), items=created, seconds=time.monotonic() - started)
            if progress is not None:
                progress(created)

    return job_run(kind=JobRun.Kind.SUBSCRIPTIONS, cutoff=cutoff, work=work, queued_id=queued_id)


# -- grant sweep ---------------------------------------------------------------------------------------


def grants_sweep(
    *,
    now: dt.datetime | None = None,
    days: int | None = None,
    batch_size: int | None = None,
    progress=None,
    queued_id: int | None = None,
    record_empty: bool = False,
) -> JobRun | None:
    """Deliver every pending grant (the outbox, ``fulfilment.grants``) owed for longer than
    ``JOBS_GRANT_SWEEP_GRACE_SECONDS`` at ``now``, however old: a message the broker never
    took, or a worker that died with it, loses no points.

    ``days`` (by hand: ``sweep_grants --days N``) also grants the orders shipped in the last
    ``days`` that have no grant and no pending row: orders marked shipped outside the order
    services (SQL, an import). Beat runs the sweep every few minutes without it; a run that
    finds nothing pending records nothing and returns ``None``, so the job list shows the
    runs that delivered something (or failed), not one every five minutes. A run staff asked for
    (``queued_id``, or ``record_empty``: the demo) is recorded even when it finds nothing.
    """
    cutoff = now or timezone.now()
    before = cutoff - dt.timedelta(seconds=settings.JOBS_GRANT_SWEEP_GRACE_SECONDS)
    asked = record_empty or queued_id is not None
    if days is None and not asked and not pending_grants_exist(before=before):
        return None

    def work(run: JobRun) -> None:
        def on_batch(batch) -> None:
            _batch_recorded(
                run,
                lots=batch.lots,
                points=batch.points,
                members=batch.members,
                items=batch.orders,
                seconds=batch.seconds,
            )
            if progress is not None:
                progress(batch)

        pending_grants_deliver(before=before, batch_size=batch_size, progress=on_batch)
        if days is not None:
            points_grant_shipped_orders(
                shipped_from=cutoff - dt.timedelta(days=days),
                shipped_to=cutoff,
                batch_size=batch_size,
                progress=on_batch,
            )

    return job_run(kind=JobRun.Kind.GRANTS, cutoff=cutoff, work=work, queued_id=queued_id)


# -- whole-ledger check ---------------------------------------------------------------------------------


def ledger_check_run(
    *, now: dt.datetime | None = None, chunk_size: int = 5000, progress=None, queued_id: int | None = None
) -> JobRun:
    """Check every member's ledger (``ssr_points.checks.ledger_check``), ``chunk_size`` members
    at a time, recording the members checked and the violations found: every one counted
    (``items``), the first ``LEDGER_CHECK_FINDINGS_KEPT`` kept (``findings``) for the admin page.

    Minutes for a whole market, so it runs as a Celery task, one at a time like every job."""
    cutoff = now or timezone.now()

    def work(run: JobRun) -> None:
        after = 0
        members = Member.objects.order_by("pk").values_list("pk", flat=True)
        while chunk := list(members.filter(pk__gt=after)[:chunk_size]):
            after = chunk[-1]
            started = time.monotonic()
            violations = ledger_check(member_ids=chunk, at=cutoff)
            seconds = time.monotonic() - started
            kept = violations[: LEDGER_CHECK_FINDINGS_KEPT - len(run.findings)]
            if kept:
                numbers = dict(
                    Member.objects.filter(pk__in={v.member_id for v in kept}).values_list("pk", "member_number")
                )
                run.findings.extend(
                    {
                        "member_id": v.member_id,
                        "member_number": numbers.get(v.member_id, ""),
                        "lot_id": v.lot_id,
                        "rule": v.rule,
                        "expected": v.expected,
                        "actual": v.actual,
                    }
                    for v in kept
                )
                run.save(update_fields=["findings"])
            _batch_recorded(run, members=len(chunk), items=len(violations), seconds=seconds)
            if progress is not None:
                progress(len(chunk))

    return job_run(kind=JobRun.Kind.LEDGER_CHECK, cutoff=cutoff, work=work, queued_id=queued_id)
