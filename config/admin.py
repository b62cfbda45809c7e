"""The back-office admin site: Django's admin plus the points report and the ledger check.

``SSRAdminConfig`` replaces ``django.contrib.admin`` in ``INSTALLED_APPS`` so that
``admin.site`` (and every ``@admin.register``) is this site.
"""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.core.paginator import Paginator
from django.db import connections
from django.urls import path
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _


class ReadOnlyAdminMixin:
    """Shown in admin, never added, changed or deleted there: services write these rows.

    For model admins and inlines alike (``obj`` is optional in both signatures).
    """

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class EstimatedCountPaginator(Paginator):
    """Counts an unfiltered list of a large table from PostgreSQL's statistics, not COUNT(*).

    ``COUNT(*)`` reads the whole table: about a second for ten million members, more for the
    ledger, on every opening of the list. The planner's row estimate (``pg_class.reltuples``,
    kept by autovacuum) is close enough to size the pages. A search or a filter, and any table
    smaller than ``estimate_above`` or not analysed yet, is counted exactly.
    """

    estimate_above = 100_000

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        connection = connections[queryset.db]
        if connection.vendor == "postgresql" and not queryset.query.where:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)",
                    [connection.ops.quote_name(queryset.model._meta.db_table)],
                )
                row = cursor.fetchone()
            if row is not None and row[0] >= self.estimate_above:
                return row[0]
        return super().count


class LargeTableAdminMixin:
    """For the lists of tables that grow with the members (members, orders, ledger, exchanges):
    no second count of the whole table next to a search's, and an estimated total."""

    show_full_result_count = False
    paginator = EstimatedCountPaginator


class SSRAdminSite(admin.AdminSite):
    site_header = _("SSR Rewards back office")
    site_title = _("SSR Rewards back office")
    index_title = _("Back office")
    index_template = "admin/ssr_index.html"

    def get_urls(self):
        from ssr_points import admin_views

        extra = [
            path("points-report/", self.admin_view(admin_views.points_report), name="points_report"),
            path(
                "points-report/<slug:table>.csv",
                self.admin_view(admin_views.points_report_csv),
                name="points_report_csv",
            ),
            path("ledger-check/", self.admin_view(admin_views.ledger_check_view), name="ledger_check"),
        ]
        return extra + super().get_urls()


class SSRAdminConfig(AdminConfig):
    default_site = "config.admin.SSRAdminSite"
