from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrderEventsConfig(AppConfig):
    name = "order_events"
    verbose_name = _("Order events")
