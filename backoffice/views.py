"""Back-office pages that are not a model's changelist: the points report and the ledger check.

Thin views over ``ssr_points.selectors``, ``ssr_points.services.ledger_check`` and the
whole-ledger check job (``jobs.tasks.check_ledger_task``); the admin site mounts them
(``backoffice/site.py``).
"""

from __future__ import annotations

import datetime as dt

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from backoffice.charts import bar_chart
from backoffice.downloads import csv_response
from backoffice.forms import ReportRangeForm
from config.broker import task_send
from exchange.reports import report_fees_by_month
from jobs.models import JobRun
from jobs.tasks import check_ledger_task
from ssr_points import selectors
from ssr_points.checks import ledger_check
from ssr_points.reports import report_points_movements
from subscriptions.models import Market, Member
from subscriptions.templatetags.ssr_format import last_valid_day

LEDGER_CHECK_SHOWN = 500
LEDGER_CHECK_RUNS_SHOWN = 10
REPORT_TABLES = ("outstanding", "expiring", "movements", "fees")


def _require(request, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied


def _percent(rate: float | None) -> float | None:
    """A rate as a percentage with one decimal, a number (None: no rate, a blank cell)."""
    return None if rate is None else round(rate * 100, 1)


def _twelve_months_to(day: dt.date) -> dt.date:
    """The first day of the month 11 months before ``day``'s: with it, 12 months."""
    months = day.year * 12 + day.month - 1 - 11
    return dt.date(months // 12, months % 12 + 1, 1)


def _report_range(request) -> tuple[ReportRangeForm, Market | None, dt.date, dt.date]:
    """The market and the date range asked for (default: this month and the 11 before it, in the
    market's time zone; a missing end is today). A range that is not one is said on the page,
    and the default shown instead."""
    form = ReportRangeForm(request.GET or None, markets=Market.objects.order_by("code"))
    valid = form.is_bound and form.is_valid()
    market = (form.cleaned_data["market"] if valid else None) or form.default_market()
    today = timezone.localdate(timezone=market.zone) if market else timezone.localdate()
    end = (form.cleaned_data["end"] if valid else None) or today
    start = (form.cleaned_data["start"] if valid else None) or _twelve_months_to(end)
    if start > end:
        form.add_error("start", _("The range ends before it starts."))
        start, end = _twelve_months_to(today), today
    return form, market, start, end


def _report_tables(market: Market | None, start: dt.date, end: dt.date) -> dict[str, tuple[list[str], list[list]]]:
    """Each table as (header, rows) of plain values — numbers as numbers, None where there is
    none; the page formats them, the CSV writes them as they are (a blank cell for None)."""
    outstanding = selectors.report_points_outstanding()
    tables = {
        "outstanding": (
            [_("Market"), _("Points outstanding"), _("Value of one point"), _("Value"), _("Currency")],
            [
                [row.market.code, row.points, row.market.point_value, row.value, row.market.currency]
                for row in outstanding
            ],
        )
    }
    if market is None:
        tables["expiring"] = tables["movements"] = tables["fees"] = ([], [])
        return tables
    expiring = selectors.report_points_expiring_by_month(market=market)
    # Expiry as the last valid day (docs/admin.md): the month's soonest one (a date; ISO in the CSV).
    tables["expiring"] = (
        [_("Month"), _("Points expiring"), _("Value"), _("Soonest last valid day")],
        [
            [
                f"{row.month:%Y-%m}",
                row.points,
                row.points * market.point_value,
                last_valid_day(row.soonest_expires_at, market.zone) if row.soonest_expires_at else None,
            ]
            for row in expiring
        ],
    )
    movements = report_points_movements(market=market, start=start, end=end)
    tables["movements"] = (
        [
            _("Month"),
            _("Granted"),
            _("Adjusted"),
            _("Redeemed"),
            _("Expired"),
            _("Clawed back"),
            _("Breakage rate (%)"),
        ],
        [
            [f"{r.month:%Y-%m}", r.granted, r.adjusted, r.redeemed, r.expired, r.clawed_back, _percent(r.breakage_rate)]
            for r in movements
        ],
    )
    fees = report_fees_by_month(market=market, start=start, end=end)
    tables["fees"] = (
        [
            _("Month"),
            _("Exchanges"),
            _("Exchange fee (excl. tax)"),
            _("Tax on the exchange fee"),
            _("Handling fee (excl. tax)"),
            _("Tax on the handling fee"),
            _("Fees (incl. tax)"),
        ],
        [
            [
                f"{r.month:%Y-%m}",
                r.exchanges,
                r.exchange_fee_excl_tax,
                r.exchange_fee_tax,
                r.handling_fee_excl_tax,
                r.handling_fee_tax,
                r.incl_tax,
            ]
            for r in fees
        ],
    )
    return tables


def points_report(request):
    _require(request, "ssr_points.view_report")
    form, market, start, end = _report_range(request)
    tables = _report_tables(market, start, end)
    charts = {}
    if market is not None:
        movements = tables["movements"][1]
        charts["movements"] = bar_chart(
            categories=[row[0][2:] for row in movements],
            series=[
                (_("Granted"), [row[1] for row in movements]),
                (_("Redeemed"), [row[3] for row in movements]),
                (_("Expired"), [row[4] for row in movements]),
            ],
        )
        charts["expiring"] = bar_chart(
            categories=[row[0][2:] for row in tables["expiring"][1]],
            series=[(_("Points expiring"), [row[1] for row in tables["expiring"][1]])],
            height=220,
        )
    redeemed = sum(row[3] for row in tables["movements"][1])
    expired = sum(row[4] for row in tables["movements"][1])
    fee_rows = tables["fees"][1]
    context = {
        **admin.site.each_context(request),
        "title": _("Points report"),
        "form": form,
        "markets": Market.objects.order_by("code"),
        "market": market,
        "start": start,
        "end": end,
        "range_query": urlencode(
            {"market": market.code if market else "", "start": start.isoformat(), "end": end.isoformat()}
        ),
        "tables": tables,
        "charts": charts,
        "breakage": _percent(expired / (redeemed + expired) if redeemed + expired > 0 else None),
        "fee_totals": [sum(row[i] for row in fee_rows) for i in range(1, 7)] if fee_rows else [],
        "generated_at": timezone.now(),
    }
    return TemplateResponse(request, "admin/ssr_points/points_report.html", context)


def points_report_csv(request, table: str):
    _require(request, "ssr_points.view_report")
    if table not in REPORT_TABLES:
        raise Http404
    _form, market, start, end = _report_range(request)
    header, rows = _report_tables(market, start, end)[table]
    parts = [market.code] if market is not None and table != "outstanding" else []
    if table in ("movements", "fees"):
        parts.append(f"{start:%Y%m%d}-{end:%Y%m%d}")
    return csv_response(
        name_parts=["points", table, *parts, f"{timezone.localdate():%Y%m%d}"], header=header, rows=rows
    )


def ledger_check_view(request):
    """The ledger check: for the member numbers typed, run here and shown at once; for every
    member, started as a background job (``jobs.tasks.check_ledger_task``, minutes for a whole
    market) whose runs and violations the page lists."""
    _require(request, "ssr_points.run_ledger_check")
    if request.method == "POST" and not request.POST.get("member_numbers", "").split():
        # One at a time: a start while a check runs is recorded as skipped (jobs.services.job_run).
        if task_send(check_ledger_task, (), what="The whole-ledger check"):
            messages.success(
                request,
                _("The whole-ledger check started in the background. Its run is listed below; reload to follow it."),
            )
        else:
            messages.error(
                request,
                _(
                    "The job queue cannot be reached just now, so the check did not start. "
                    "Please try again in a few minutes."
                ),
            )
        return HttpResponseRedirect(reverse("admin:ledger_check"))
    runs = list(
        JobRun.objects.filter(kind=JobRun.Kind.LEDGER_CHECK).order_by("-started_at", "-id")[:LEDGER_CHECK_RUNS_SHOWN]
    )
    chosen = request.GET.get("run", "")
    shown_run = JobRun.objects.filter(kind=JobRun.Kind.LEDGER_CHECK, pk=chosen).first() if chosen.isdigit() else None
    if shown_run is None:  # the latest run that did the check (not a skipped start)
        shown_run = next((run for run in runs if run.status != JobRun.Status.SKIPPED), None)
    context = {
        **admin.site.each_context(request),
        "title": _("Ledger check"),
        "ran": False,
        "runs": runs,
        "shown_run": shown_run,
    }
    if request.method == "POST":
        numbers = request.POST["member_numbers"].split()
        member_ids = list(Member.objects.filter(member_number__in=numbers).values_list("pk", flat=True))
        context["unknown_numbers"] = sorted(
            set(numbers) - set(Member.objects.filter(pk__in=member_ids).values_list("member_number", flat=True))
        )
        started = timezone.now()
        violations = ledger_check(member_ids=member_ids)
        context.update(
            ran=True,
            member_numbers=" ".join(numbers),
            violations=violations[:LEDGER_CHECK_SHOWN],
            violation_count=len(violations),
            shown_limit=LEDGER_CHECK_SHOWN,
            started_at=started,
            seconds=(timezone.now() - started).total_seconds(),
        )
    return TemplateResponse(request, "admin/ssr_points/ledger_check.html", context)


def member_search(request):
    """The header's member search: straight to the member page when one member matches (one click
    less on every call), else the member list with the search, which says what matched or not."""
    _require(request, "subscriptions.view_member")
    term = request.GET.get("q", "").strip()
    changelist = reverse("admin:subscriptions_member_changelist")
    if not term:
        return HttpResponseRedirect(changelist)
    model_admin = admin.site.get_model_admin(Member)
    queryset, _may_have_duplicates = model_admin.get_search_results(request, Member.objects.all(), term)
    matches = list(queryset.order_by().values_list("pk", flat=True)[:2])
    if len(matches) == 1:
        return HttpResponseRedirect(reverse("admin:subscriptions_member_change", args=[matches[0]]))
    return HttpResponseRedirect(f"{changelist}?{urlencode({'q': term})}")


def permission_denied(request, exception=None):
    """The back office's 403, in the admin's layout and language, with the way back
    (``config.errors`` answers the admin's paths with it, the member site's with its own page)."""
    context = {
        **admin.site.each_context(request),
        "title": _("You do not have permission to do this"),
    }
    return TemplateResponse(request, "admin/403.html", context, status=403).render()
