"""Celery tasks of the points ledger: thin callers of the services, safe to run twice.

The scheduled jobs (expiry under its run lock, sweeps, reminders) are in ``jobs.tasks``.
"""

from celery import shared_task

from ssr_points import services
from subscriptions.models import SubscriptionOrder


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def points_grant_for_order_task(order_id: int) -> dict:
    """Sent by the web processes of the release before the grants' outbox (fulfilment.tasks'
    ``order_grant_task`` replaces it); kept registered so their messages are still granted
    during a rolling deploy. Remove it one release later."""
    order = SubscriptionOrder.objects.get(pk=order_id)
    lot = services.points_grant_for_order(order=order)
    return {"order": order.number, "lot": lot.pk if lot else None, "points": lot.amount if lot else 0}
