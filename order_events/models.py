"""Order events the commerce system sends over HTTP (order shipped, order returned).

One row per event id, unique: a redelivered event finds its row and changes nothing.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from subscriptions.models import Member, SubscriptionOrder


class OrderEvent(models.Model):
    class Kind(models.TextChoices):
        SHIPPED = "order.shipped", _("Order shipped")
        RETURNED = "order.returned", _("Order returned")

    event_id = models.CharField(_("event id"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    order = models.ForeignKey(SubscriptionOrder, on_delete=models.PROTECT, related_name="events")
    occurred_at = models.DateTimeField(_("occurred at"))
    body_sha256 = models.CharField(_("body SHA-256"), max_length=64)
    received_at = models.DateTimeField(_("received at"))

    class Meta:
        verbose_name = _("order event")
        verbose_name_plural = _("order events")
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.event_id} {self.get_kind_display()}"
