"""Celery tasks of the points ledger: thin callers of the services, safe to run twice."""

from celery import shared_task

from ssr_points import services
from subscriptions.models import SubscriptionOrder


@shared_task(acks_late=True)
def points_grant_for_order_task(order_id: int) -> dict:
    order = SubscriptionOrder.objects.get(pk=order_id)
    lot = services.points_grant_for_order(order=order)
    return {"order": order.number, "lot": lot.pk if lot else None, "points": lot.amount if lot else 0}


@shared_task(acks_late=True)
def points_expire_due_task() -> dict:
    result = services.points_expire_due()
    return {"lots": result.lots, "points": result.points, "members": result.members, "batches": result.batches}
