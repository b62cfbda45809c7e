"""Records of the jobs: one ``JobRun`` per run, the expiry reminders sent.

``JobRun`` is small and global (a reference table, docs/scaling.md); ``ExpiryReminder`` is
member-owned and carries ``member_id`` like every other member table.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from subscriptions.models import Member
from subscriptions.templatetags.ssr_format import valid_until_text


class JobRun(models.Model):
    class Kind(models.TextChoices):
        EXPIRY = "expiry", _("Points expiry")
        REMINDERS = "reminders", _("Expiring-soon reminders")
        SUBSCRIPTIONS = "subscriptions", _("Subscription orders")
        GRANTS = "grants", _("Grant sweep")
        LEDGER_CHECK = "ledger_check", _("Ledger check")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued: waiting for a worker")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped: another run was in progress")
        INTERRUPTED = "interrupted", _("Interrupted (the process stopped mid-run)")

    kind = models.CharField(_("job"), max_length=20, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.RUNNING)
    cutoff = models.DateTimeField(_("cutoff"), help_text=_("The run's 'now': what was due at this instant."))
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        _("last heartbeat"),
        null=True,
        blank=True,
        help_text=_(
            "Stamped while the run works (every 30 s, and after every batch). A running run whose "
            "heartbeat is minutes old belongs to a process that stopped: the next run closes it."
        ),
    )
    lots = models.PositiveBigIntegerField(_("lots"), default=0)
    points = models.BigIntegerField(_("points"), default=0)
    members = models.PositiveBigIntegerField(_("members"), default=0)
    items = models.PositiveBigIntegerField(
        _("items"),
        default=0,
        help_text=_("Emails sent, orders created, orders looked at or ledger violations found, by job."),
    )
    batches = models.PositiveIntegerField(_("batches"), default=0)
    longest_batch_ms = models.PositiveIntegerField(_("longest batch transaction (ms)"), default=0)
    error = models.TextField(_("error"), blank=True)
    notes = models.TextField(
        _("notes"),
        blank=True,
        help_text=_("What the run found when it started: a run left running by a stopped process, which it closed."),
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("run now by"),
        help_text=_("The staff user who ran it from the admin; empty for the scheduled runs."),
    )
    findings = models.JSONField(
        _("findings"),
        default=list,
        blank=True,
        help_text=_("What the run found for staff to look at: the ledger check's violations (the first 500)."),
    )

    class Meta:
        verbose_name = _("job run")
        verbose_name_plural = _("job runs")
        ordering = ["-started_at", "-id"]
        # Who may start each scheduled job from the admin (「今すぐ実行」; ssr_points/roles.py).
        permissions = [
            ("run_expiry", _("Can run the points expiry now")),
            ("run_reminders", _("Can send the expiring-soon reminders now")),
            ("run_subscriptions", _("Can run the subscription orders now")),
            ("run_grants", _("Can run the grant sweep now")),
        ]
        constraints = [
            # The last line of defence (and SQLite's only lock): one running row per job.
            models.UniqueConstraint(fields=["kind"], condition=Q(status="running"), name="one_running_run_per_job"),
        ]
        indexes = [models.Index(fields=["kind", "-started_at"], name="jobrun_kind_started_idx")]

    def __str__(self) -> str:
        # In Japan time (TIME_ZONE), like the run's fields: the title and breadcrumbs of its page.
        started = timezone.localtime(self.started_at)
        return f"{self.get_kind_display()} {started:%Y-%m-%d %H:%M} {self.get_status_display()}"

    @property
    def seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class ExpiryReminder(models.Model):
    """One expiring-soon email: a member, an expiry instant, the points that expire then.

    Unique per (member, expiry instant), so a member never gets a second email for the
    same lots however often the job runs.
    """

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    expires_at = models.DateTimeField(_("expires at"))
    points = models.PositiveBigIntegerField(_("points"))
    claimed_at = models.DateTimeField(_("claimed at"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("expiry reminder")
        verbose_name_plural = _("expiry reminders")
        constraints = [
            models.UniqueConstraint(fields=["member", "expires_at"], name="one_reminder_per_member_and_expiry"),
        ]

    def __str__(self) -> str:
        # The last valid day (the one convention, docs/admin.md), in the default time zone: a
        # row's name must not query its member's market; the market's own zone is in the admin.
        return gettext("%(points)s points (%(until)s)") % {
            "points": f"{self.points:,}",
            "until": valid_until_text(self.expires_at),
        }
