"""What the job commands share: ``--now``, a progress bar, and the run's summary line.

They print in one language, English, like their help, their errors and the logs: the run's job
and status are written with their English labels, not the Japanese the admin shows (Django runs
commands in ``LANGUAGE_CODE``, which made a line half Japanese, half English)."""

from __future__ import annotations

import datetime as dt
import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone, translation
from tqdm import tqdm

from jobs.models import JobRun


def parse_now(value: str) -> dt.datetime:
    """ISO 8601; a naive value is local time (Asia/Tokyo)."""
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--now must be an ISO datetime such as 2026-03-01T00:05+09:00, not {value!r}") from None
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


class JobCommand(BaseCommand):
    unit = "item"

    def execute(self, *args, **options):
        self.progress_file = options.get("stderr") or sys.stderr  # the stream itself: tqdm rewrites its line
        return super().execute(*args, **options)

    def add_arguments(self, parser):
        parser.add_argument(
            "--now", type=parse_now, default=None, help="The run's cutoff (ISO datetime; default: the current time)."
        )

    def progress_bar(self, options) -> tqdm:
        return tqdm(unit=self.unit, disable=options["verbosity"] == 0, file=self.progress_file, mininterval=1.0)

    def report(self, run: JobRun) -> None:
        with translation.override("en"):
            self._report(run)

    def _report(self, run: JobRun) -> None:
        if run.status == JobRun.Status.SKIPPED:
            self.stdout.write(self.style.WARNING(f"{run.get_kind_display()}: {run.error}"))
            return
        cutoff = timezone.localtime(run.cutoff).isoformat()
        self.stdout.write(
            self.style.SUCCESS(
                f"{run.get_kind_display()} run {run.pk}: {run.get_status_display()} in {run.seconds:.1f} s — "
                f"lots {run.lots}, points {run.points}, members {run.members}, items {run.items}, "
                f"batches {run.batches}, longest batch {run.longest_batch_ms} ms (cutoff {cutoff})"
            )
        )
