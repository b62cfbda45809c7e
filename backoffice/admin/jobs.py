"""Staff see every job run and reminder, read-only (the runs are written by the jobs only).

A run a dead worker left shows in the list (docs/jobs.md, "A dead worker"): its last heartbeat,
and the state of its life — running and beating, running without a heartbeat for longer than
``JOBS_HEARTBEAT_STALE_SECONDS`` (its process stopped: the next run of the job closes it), closed
as interrupted by a later run (which one), or a run that closed such a one.
"""

import datetime as dt

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import IntegerField, OuterRef, Subquery
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from backoffice.admin.base import NumbersAdminMixin, ReadOnlyAdminMixin, expiry_fields, member_link
from jobs.models import ExpiryReminder, JobRun
from jobs.run_now import RUN_NOW, RunNowRefused, job_in_progress, job_may_run_now, job_run_now

# What each job does, for the confirmation of 「今すぐ実行」 (the schedule: docs/jobs.md).
JOB_EXPLANATIONS = {
    JobRun.Kind.EXPIRY: _(
        "Records the expiry of every lot whose last valid day has passed. Beat runs it every night; "
        "running it again finds nothing more to do."
    ),
    JobRun.Kind.SUBSCRIPTIONS: _(
        "Creates the order of every active subscription due today or earlier, with the exchanges bundled "
        "into it. Beat runs it every night; a subscription already ordered is not ordered twice."
    ),
    JobRun.Kind.GRANTS: _(
        "Writes the points still owed for shipped orders (the grants' outbox). Beat runs it every few "
        "minutes; a grant is never written twice."
    ),
    JobRun.Kind.REMINDERS: _(
        "Emails every member whose points expire soon. Beat runs it every morning; a member never gets "
        "the same reminder twice."
    ),
}


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
        "requested_by",
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
        (
            None,
            {
                "fields": [
                    "kind",
                    "status",
                    "requested_by",
                    "liveness",
                    "cutoff",
                    "started_at",
                    "finished_at",
                    "heartbeat_at",
                ]
            },
        ),
        (_("what the run did"), {"fields": ["lots", "points", "members", "items", "batches", "longest_batch_ms"]}),
        (_("errors and notes"), {"fields": ["error", "notes", "findings"]}),
    ]
    readonly_fields = ["liveness"]
    list_select_related = ["requested_by"]

    # -- 「今すぐ実行」: the scheduled jobs, run now by the roles that may (jobs/run_now.py) ------------

    def get_urls(self):
        return [
            path("run/<slug:kind>/", self.admin_site.admin_view(self.run_now_view), name="jobs_jobrun_run_now"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        runnable = [
            (kind, JobRun.Kind(kind).label) for kind in RUN_NOW if job_may_run_now(kind=kind, user=request.user)
        ]
        return super().changelist_view(request, {**(extra_context or {}), "runnable_jobs": runnable})

    def run_now_view(self, request, kind):
        """GET: what the job does, its last run, a confirmation; POST: queue it (the same task and
        lock as beat's run) and list it."""
        if kind not in RUN_NOW:
            raise Http404
        if not job_may_run_now(kind=kind, user=request.user):
            raise PermissionDenied
        changelist = reverse("admin:jobs_jobrun_changelist")
        if request.method == "POST":
            try:
                run = job_run_now(kind=kind, staff_user=request.user)
            except RunNowRefused as refused:
                if refused.run is not None:
                    message = format_html(
                        "{} {}（{}）", str(refused), _run_link(refused.run.pk), refused.run.get_status_display()
                    )
                else:
                    message = str(refused)
                messages.error(request, message)
            else:
                messages.success(
                    request,
                    format_html(
                        "{} {}（{}）",
                        gettext("Started: %(job)s, run") % {"job": run.get_kind_display()},
                        _run_link(run.pk),
                        run.get_status_display(),
                    ),
                )
            return HttpResponseRedirect(changelist)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Run now: %(job)s") % {"job": JobRun.Kind(kind).label},
            "job": JobRun.Kind(kind).label,
            "explanation": JOB_EXPLANATIONS[kind],
            "last_run": JobRun.objects.filter(kind=kind).exclude(status=JobRun.Status.QUEUED).first(),
            "in_progress": job_in_progress(kind=kind),
        }
        return TemplateResponse(request, "admin/jobs/jobrun/run_now.html", context)

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
