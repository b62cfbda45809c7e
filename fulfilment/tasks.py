"""The grant task of a shipped order, and how the shipping transaction hands it to the broker.

The ``PendingGrant`` row written with the shipment is the promise; the task's message only
makes the grant come sooner than the sweep (``jobs.tasks.sweep_grants_task``, every few
minutes). So sending the message must never fail or stall the request that shipped the
order: ``config.broker.task_send``.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from config.broker import broker_backoff, task_send  # noqa: F401 - broker_backoff: the tests reset it
from fulfilment.grants import order_grant
from subscriptions.models import SubscriptionOrder

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def order_grant_task(order_id: int) -> dict:
    """Grant a shipped order's points and clear its pending grant; safe to run twice."""
    order = SubscriptionOrder.objects.get(pk=order_id)
    lot = order_grant(order=order)
    return {"order": order.number, "lot": lot.pk if lot else None, "points": lot.amount if lot else 0}


def order_grant_enqueue(order_id: int) -> bool:
    """Send the order's grant task; never raise for an unreachable broker. Called on commit of
    the transaction that shipped the order (its ``PendingGrant`` is committed already).

    Returns whether the message was handed to the broker (or run, when tasks are eager).
    """
    sent = task_send(order_grant_task, (order_id,), what=f"Grant of order {order_id}")
    if not sent:
        logger.info(
            "Grant of order %s stays pending; the grant sweep delivers it (every %s minutes).",
            order_id,
            settings.JOBS_GRANT_SWEEP_MINUTES,
        )
    return sent
