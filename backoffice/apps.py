from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BackofficeConfig(AppConfig):
    """The staff back office and whatever else composes every app (the demo data): the top floor."""

    name = "backoffice"
    verbose_name = _("Back office")
