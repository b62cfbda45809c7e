"""The back-office admin site: Django's admin plus the points report and the ledger check.

``backoffice.apps.SSRAdminConfig`` replaces ``django.contrib.admin`` in ``INSTALLED_APPS`` so
that ``admin.site`` (and every ``@admin.register``) is this site. Every model admin of the project
lives in ``backoffice.admin`` (docs/apps.md: the back office is the top floor).
"""

from django.contrib import admin
from django.urls import path
from django.utils.translation import gettext_lazy as _

from backoffice import views


class SSRAdminSite(admin.AdminSite):
    site_header = _("SSR Rewards back office")
    site_title = _("SSR Rewards back office")
    index_title = _("Back office")
    index_template = "admin/ssr_index.html"

    def get_urls(self):
        extra = [
            path("points-report/", self.admin_view(views.points_report), name="points_report"),
            path(
                "points-report/<slug:table>.csv",
                self.admin_view(views.points_report_csv),
                name="points_report_csv",
            ),
            path("ledger-check/", self.admin_view(views.ledger_check_view), name="ledger_check"),
            path("member-search/", self.admin_view(views.member_search), name="member_search"),
        ]
        return extra + super().get_urls()
