"""Staff see every job run and reminder, read-only (the runs are written by the jobs only)."""

from django.contrib import admin

from backoffice.admin.base import ReadOnlyAdminMixin
from jobs.models import ExpiryReminder, JobRun


@admin.register(JobRun)
class JobRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "kind",
        "status",
        "started_at",
        "finished_at",
        "cutoff",
        "lots",
        "points",
        "members",
        "items",
        "batches",
        "longest_batch_ms",
    ]
    list_filter = ["kind", "status"]
    date_hierarchy = "started_at"


@admin.register(ExpiryReminder)
class ExpiryReminderAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["member", "expires_at", "points", "claimed_at", "sent_at"]
    search_fields = ["member__member_number", "member__name", "member__user__email"]
    raw_id_fields = ["member"]
    date_hierarchy = "expires_at"
