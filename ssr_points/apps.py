from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SsrPointsConfig(AppConfig):
    name = "ssr_points"
    verbose_name = _("SSR points")
