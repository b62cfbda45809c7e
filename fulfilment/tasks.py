"""The grant task of a shipped order, and how the shipping transaction hands it to the broker.

The ``PendingGrant`` row written with the shipment is the promise; the task's message only
makes the grant come sooner than the sweep (``jobs.tasks.sweep_grants_task``, every few
minutes). So sending the message must never fail or stall the request that shipped the
order: one connection attempt, no publish retries, short socket timeouts
(``CELERY_BROKER_TRANSPORT_OPTIONS``), no result to subscribe to, and after a failure the
process stops trying for ``FULFILMENT_BROKER_BACKOFF_SECONDS`` (an admin action shipping
200 orders with the broker down would otherwise wait on it 200 times).
"""

from __future__ import annotations

import logging
import threading
import time

from celery import shared_task
from django.conf import settings
from kombu.exceptions import OperationalError as BrokerUnreachable

from fulfilment.grants import order_grant
from subscriptions.models import SubscriptionOrder

logger = logging.getLogger(__name__)

# One connection attempt, no retry: the sweep is the retry.
PUBLISH_RETRY_POLICY = {"max_retries": 0}


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def order_grant_task(order_id: int) -> dict:
    """Grant a shipped order's points and clear its pending grant; safe to run twice."""
    order = SubscriptionOrder.objects.get(pk=order_id)
    lot = order_grant(order=order)
    return {"order": order.number, "lot": lot.pk if lot else None, "points": lot.amount if lot else 0}


class _BrokerBackoff:
    """After the broker refused one message, skip it for a while in this process."""

    def __init__(self):
        self._lock = threading.Lock()
        self._until = 0.0

    def active(self) -> bool:
        return time.monotonic() < self._until

    def start(self) -> None:
        with self._lock:
            self._until = time.monotonic() + settings.FULFILMENT_BROKER_BACKOFF_SECONDS

    def reset(self) -> None:
        with self._lock:
            self._until = 0.0


broker_backoff = _BrokerBackoff()


def order_grant_enqueue(order_id: int) -> bool:
    """Send the order's grant task; never raise for an unreachable broker. Called on commit of
    the transaction that shipped the order (its ``PendingGrant`` is committed already).

    Returns whether the message was handed to the broker (or run, when tasks are eager).
    """
    if broker_backoff.active():
        logger.info("Grant of order %s left to the sweep: the broker was unreachable moments ago.", order_id)
        return False
    try:
        order_grant_task.apply_async((order_id,), retry=True, retry_policy=PUBLISH_RETRY_POLICY)
    except BrokerUnreachable as error:
        broker_backoff.start()
        logger.warning(
            "Grant of order %s not sent: the broker is unreachable (%s). It stays pending; the grant "
            "sweep delivers it (every %s minutes). No more attempts from this process for %s s.",
            order_id,
            error,
            settings.JOBS_GRANT_SWEEP_MINUTES,
            settings.FULFILMENT_BROKER_BACKOFF_SECONDS,
        )
        return False
    return True
