"""Staff see every job run and reminder, read-only (the runs are written by the jobs only)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from backoffice.admin.base import ReadOnlyAdminMixin, expiry_fields, member_link
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
