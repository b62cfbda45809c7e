"""Staff see every job run and reminder, read-only (the runs are written by the jobs only).

A run a dead worker left shows in the list (docs/jobs.md, "A dead worker"): its last heartbeat,
and the state of its life — running and beating, running without a heartbeat for longer than
``JOBS_HEARTBEAT_STALE_SECONDS`` (its process stopped: the next run of the job closes it), closed
as interrupted by a later run (which one), or a run that closed such a one.
"""

import datetime as dt

from django.conf import settings
from django.contrib import admin
from django.db.models import IntegerField, OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from backoffice.admin.base import NumbersAdminMixin, ReadOnlyAdminMixin, expiry_fields, member_link
from jobs.models import ExpiryReminder, JobRun


def _run_link(pk: int) -> str:
    return format_html('<a href="{}">#{}</a>', reverse("admin:jobs_jobrun_change", args=[pk]), pk)


class LivenessFilter(admin.SimpleListFilter):
    title = _("left by a stopped process")
    parameter_name = "stale"

    def lookups(self, request, model_admin):
        return [
            ("running", _("running without a heartbeat")),
            ("closed", _("closed as interrupted")),
        ]

    def queryset(self, request, queryset):
        if self.value() == "running":
            stale_before = timezone.now() - dt.timedelta(seconds=settings.JOBS_HEARTBEAT_STALE_SECONDS)
            return queryset.filter(status=JobRun.Status.RUNNING, heartbeat_at__lt=stale_before)
        if self.value() == "closed":
            return queryset.filter(status=JobRun.Status.INTERRUPTED)
        return queryset


@admin.register(JobRun)
class JobRunAdmin(NumbersAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "kind",
        "status",
        "started_at",
        "finished_at",
        "heartbeat_at",
        "liveness",
        "cutoff",
        "lots",
        "points",
        "members",
        "items",
        "batches",
        "longest_batch_ms",
    ]
    list_filter = ["kind", "status", LivenessFilter]
    date_hierarchy = "started_at"
    fieldsets = [
        (None, {"fields": ["kind", "status", "liveness", "cutoff", "started_at", "finished_at", "heartbeat_at"]}),
        (_("what the run did"), {"fields": ["lots", "points", "members", "items", "batches", "longest_batch_ms"]}),
        (_("errors and notes"), {"fields": ["error", "notes", "findings"]}),
    ]
    readonly_fields = ["liveness"]

    def get_queryset(self, request):
        # A run closed as interrupted ends at the instant the run that closed it starts
        # (jobs.services._run_start): one subquery each way, on the (kind, started_at) index.
        closer = JobRun.objects.filter(kind=OuterRef("kind"), started_at=OuterRef("finished_at")).exclude(
            status=JobRun.Status.INTERRUPTED
        )
        closed = JobRun.objects.filter(
            kind=OuterRef("kind"), status=JobRun.Status.INTERRUPTED, finished_at=OuterRef("started_at")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(
                closed_by=Subquery(closer.values("pk")[:1], output_field=IntegerField()),
                closed_run=Subquery(closed.values("pk")[:1], output_field=IntegerField()),
            )
        )

    @admin.display(description=_("process"))
    def liveness(self, obj):
        if obj.status == JobRun.Status.RUNNING:
            seen = obj.heartbeat_at or obj.started_at
            if seen < timezone.now() - dt.timedelta(seconds=settings.JOBS_HEARTBEAT_STALE_SECONDS):
                return format_html(
                    "<strong>{}</strong>",
                    gettext("No heartbeat since %(at)s: its process stopped; the next run closes it")
                    % {"at": date_format(timezone.localtime(seen), "DATETIME_FORMAT")},
                )
            return gettext("Running, heartbeat on time")
        if obj.status == JobRun.Status.INTERRUPTED:
            if obj.closed_by:
                return format_html(
                    "<strong>{}</strong> {}",
                    gettext("Left by a stopped process, closed by run"),
                    _run_link(obj.closed_by),
                )
            return format_html("<strong>{}</strong>", gettext("Left by a stopped process, closed"))
        if obj.closed_run:
            return format_html("{} {}", gettext("Closed the run a stopped process left:"), _run_link(obj.closed_run))
        return ""


@admin.register(ExpiryReminder)
class ExpiryReminderAdmin(NumbersAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    # The expiry as the last valid day in the list; the detail adds the exact instant. The date
    # drill-down is by when the reminder went out: by the expiry it would list the instant's day.
    list_display = ["member_number", "valid_until", "points", "claimed_at", "sent_at"]
    search_fields = ["member__member_number", "member__name", "member__user__email"]
    list_select_related = ["member__market"]
    fields = ["member_number", "valid_until", "expiry_instant", "points", "claimed_at", "sent_at"]
    readonly_fields = ["member_number", "valid_until", "expiry_instant"]
    date_hierarchy = "claimed_at"

    valid_until, expiry_instant = expiry_fields(lambda reminder: reminder.member.market)

    @admin.display(description=_("member"), ordering="member__member_number")
    def member_number(self, obj):
        return member_link(obj.member)
