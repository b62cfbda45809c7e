"""Celery tasks of the exchange app: the member's emails, sent after the exchange committed."""

import logging

from celery import shared_task

from config.broker import task_send
from exchange.emails import exchange_email_send, exchange_request_closed_email_send

logger = logging.getLogger(__name__)


@shared_task(autoretry_for=(OSError,), retry_backoff=60, max_retries=5)
def exchange_email_task(exchange_id: int, kind: str) -> bool:
    """Send the ``placed`` or ``cancelled`` email of an exchange (retried when the mail server is down)."""
    return exchange_email_send(exchange_id=exchange_id, kind=kind)


def exchange_email_enqueue(exchange_id: int, kind: str) -> None:
    """On commit: hand the email to a worker, or send it from this process when the broker is
    unreachable (config/broker.py); a mail server error is logged, never raised to the member."""
    if task_send(exchange_email_task, (exchange_id, kind), what=f"The {kind} email of exchange {exchange_id}"):
        return
    try:
        exchange_email_send(exchange_id=exchange_id, kind=kind)
    except OSError:
        logger.exception("The %s email of exchange %s could not be sent.", kind, exchange_id)


@shared_task(autoretry_for=(OSError,), retry_backoff=60, max_retries=5)
def exchange_request_email_task(request_id: int) -> bool:
    """Tell the member that Customer Experience closed their request without an exchange, and why."""
    return exchange_request_closed_email_send(request_id=request_id)


def exchange_request_email_enqueue(request_id: int) -> None:
    """On commit: hand the email to a worker, or send it from this process when the broker is
    unreachable; a mail server error is logged, never raised to the agent."""
    if task_send(exchange_request_email_task, (request_id,), what=f"The closing email of request {request_id}"):
        return
    try:
        exchange_request_closed_email_send(request_id=request_id)
    except OSError:
        logger.exception("The closing email of request %s could not be sent.", request_id)
