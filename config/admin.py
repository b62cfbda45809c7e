"""The back-office admin site: Django's admin plus the points report and the ledger check.

``SSRAdminConfig`` replaces ``django.contrib.admin`` in ``INSTALLED_APPS`` so that
``admin.site`` (and every ``@admin.register``) is this site.
"""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.urls import path
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
