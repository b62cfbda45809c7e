from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExchangeConfig(AppConfig):
    name = "exchange"
    verbose_name = _("Exchange rewards")

    def ready(self):
        from exchange.history import history_columns_add  # models are importable once the apps are ready

        history_columns_add()
