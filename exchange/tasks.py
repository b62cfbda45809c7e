"""Celery tasks of the exchange app: the member's emails, sent after the exchange committed."""

from celery import shared_task

from exchange.emails import exchange_email_send


@shared_task(autoretry_for=(OSError,), retry_backoff=60, max_retries=5)
def exchange_email_task(exchange_id: int, kind: str) -> bool:
    """Send the ``placed`` or ``cancelled`` email of an exchange (retried when the mail server is down)."""
    return exchange_email_send(exchange_id=exchange_id, kind=kind)
