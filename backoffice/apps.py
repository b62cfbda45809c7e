from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class BackofficeConfig(AppConfig):
    """The staff back office and whatever else composes every app (the demo data): the top floor."""

    name = "backoffice"
    verbose_name = _("Back office")

    def ready(self):
        from backoffice import checks  # noqa: F401 - registers the database role's deployment check


class SSRAdminConfig(admin_apps.AdminConfig):
    """``django.contrib.admin`` with the back office's site (``backoffice/site.py``).

    Named in ``INSTALLED_APPS`` in place of ``django.contrib.admin``; the site is imported when
    the admin app is ready, after every model is loaded."""

    default = False
    default_site = "backoffice.site.SSRAdminSite"
