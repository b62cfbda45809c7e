"""The grants' outbox: one row per shipped order whose points the ledger has not written yet.

``order_mark_shipped`` inserts the row in the transaction that marks the order shipped, so
the points are owed from the instant the shipment is recorded, whether or not the broker
takes the grant task's message. The row is removed in the transaction that writes the grant
(``fulfilment.grants``), or when nothing is owed (the order earns 0 points, or came back
before its grant). docs/jobs.md ("Grants") explains the choice.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from subscriptions.models import Member, SubscriptionOrder


class PendingGrant(models.Model):
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+", db_index=False)
    order = models.ForeignKey(SubscriptionOrder, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("owed since"))

    class Meta:
        verbose_name = _("pending grant")
        verbose_name_plural = _("pending grants")
        constraints = [
            # Carries member_id like every member table (docs/scaling.md); the sweep reads it in
            # (member, order) order from this index.
            models.UniqueConstraint(fields=["member", "order"], name="one_pending_grant_per_order"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} ({timezone.localtime(self.created_at):%Y-%m-%d %H:%M})"
