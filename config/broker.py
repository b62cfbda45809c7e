"""Handing a task to the broker from a request without letting an unreachable broker fail or
stall it: one connection attempt, no publish retries, short socket timeouts
(``CELERY_BROKER_TRANSPORT_OPTIONS``), and after a failure this process stops trying for
``FULFILMENT_BROKER_BACKOFF_SECONDS`` (an admin action shipping 200 orders with the broker
down would otherwise wait on it 200 times). Every caller has a way to finish the work without
the message: the grant sweep delivers a pending grant; an email is sent in-process.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from kombu.exceptions import OperationalError as BrokerUnreachable

logger = logging.getLogger(__name__)

# One connection attempt, no retry: each caller has its own fallback.
PUBLISH_RETRY_POLICY = {"max_retries": 0}


class BrokerBackoff:
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


broker_backoff = BrokerBackoff()


def task_send(task, args: tuple, *, what: str) -> bool:
    """Send ``task(*args)``; never raise for an unreachable broker. Returns whether the message
    was handed to the broker (or run, when tasks are eager); ``what`` names it in the log."""
    if broker_backoff.active():
        logger.info("%s not sent: the broker was unreachable moments ago.", what)
        return False
    try:
        task.apply_async(args, retry=True, retry_policy=PUBLISH_RETRY_POLICY)
    except BrokerUnreachable as error:
        broker_backoff.start()
        logger.warning(
            "%s not sent: the broker is unreachable (%s). No more attempts from this process for %s s.",
            what,
            error,
            settings.FULFILMENT_BROKER_BACKOFF_SECONDS,
        )
        return False
    return True
