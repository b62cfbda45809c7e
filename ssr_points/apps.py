from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class SsrPointsConfig(AppConfig):
    name = "ssr_points"
    verbose_name = _("SSR points")

    def ready(self):
        from ssr_points.roles import roles_sync_after_migrate

        # Once per migrate (sender=self), like Django's own permissions; ssr_points/roles.py says why.
        post_migrate.connect(roles_sync_after_migrate, sender=self, dispatch_uid="ssr_points.roles_sync")
