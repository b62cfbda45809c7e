"""The grants' outbox in admin (``fulfilment.PendingGrant``, docs/jobs.md "Grants"): read-only.

Each row is a shipped order whose points the ledger has not written yet; it is normally gone
seconds after the shipment. The outbox records no attempts of its own (the sweep and the task
delete the row with the grant, or leave it), so the page derives what ops need from the clock,
the sweep's schedule and the grant sweep's job runs:

- **state**: left to its grant task (owed for less than ``JOBS_GRANT_SWEEP_GRACE_SECONDS``), due
  to the next sweep, or still owed after sweeps that should have paid it (look at the job runs);
- **sweeps since due**: grant-sweep runs whose cutoff came after the row was due to them;
- **next attempt**: the next beat tick of the sweep (every ``JOBS_GRANT_SWEEP_MINUTES``) at or
  after the moment the row is due to it.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib import admin
from django.db.models import Count, DateTimeField, ExpressionWrapper, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backoffice.admin.base import NumbersAdminMixin, ReadOnlyAdminMixin, order_link
from fulfilment.models import PendingGrant
from jobs.models import JobRun


def _grace() -> dt.timedelta:
    return dt.timedelta(seconds=settings.JOBS_GRANT_SWEEP_GRACE_SECONDS)


def next_sweep_at(*, due_at: dt.datetime, now: dt.datetime) -> dt.datetime:
    """The first tick of beat's ``*/N`` minute schedule at or after ``max(due_at, now)``."""
    minutes = settings.JOBS_GRANT_SWEEP_MINUTES
    start = timezone.localtime(max(due_at, now))
    floor = start.replace(minute=start.minute - start.minute % minutes, second=0, microsecond=0)
    return floor if floor >= start else floor + dt.timedelta(minutes=minutes)


@admin.register(PendingGrant)
class PendingGrantAdmin(NumbersAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["order_number", "member_number", "created_at", "state", "sweeps_since_due", "next_attempt"]
    fields = ["order_number", "member_number", "created_at", "state", "sweeps_since_due", "next_attempt"]
    readonly_fields = fields
    search_fields = ["=order__number", "=member__member_number"]
    list_select_related = ["order", "member"]
    ordering = ["created_at", "order_id"]

    def get_queryset(self, request):
        due_at = ExpressionWrapper(OuterRef("created_at") + Value(_grace()), output_field=DateTimeField())
        sweeps = (
            JobRun.objects.filter(kind=JobRun.Kind.GRANTS, cutoff__gte=due_at)
            .exclude(status=JobRun.Status.SKIPPED)
            .order_by()
            .values("kind")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(sweeps=Coalesce(Subquery(sweeps, output_field=IntegerField()), Value(0)))
        )

    @admin.display(description=gettext_lazy("subscription order"), ordering="order__number")
    def order_number(self, obj):
        return order_link(obj.order)

    @admin.display(description=gettext_lazy("member number"), ordering="member__member_number")
    def member_number(self, obj):
        return obj.member.member_number

    @admin.display(description=gettext_lazy("state"))
    def state(self, obj):
        if timezone.now() < obj.created_at + _grace():
            return _("Left to its grant task (sent with the shipment)")
        if not obj.sweeps:
            return _("Due to the next grant sweep")
        return format_html(
            '<strong>{}</strong> <a href="{}?kind__exact={}">{}</a>',
            _("Still owed after a grant sweep: look at the sweep's job runs"),
            reverse("admin:jobs_jobrun_changelist"),
            JobRun.Kind.GRANTS,
            _("job runs"),
        )

    @admin.display(description=gettext_lazy("grant sweeps since due"))
    def sweeps_since_due(self, obj):
        return obj.sweeps

    @admin.display(description=gettext_lazy("next attempt"))
    def next_attempt(self, obj):
        at = next_sweep_at(due_at=obj.created_at + _grace(), now=timezone.now())
        return date_format(at, "DATETIME_FORMAT")
