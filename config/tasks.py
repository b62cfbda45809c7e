"""Celery tasks of the project's own wiring: the password reset email (config/password_reset.py)."""

from celery import shared_task

from config.password_reset import password_reset_email_send


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def password_reset_email_task(typed: str, domain: str, use_https: bool, language: str) -> None:
    """Find the account a reset request names and email it the link (nothing for no account)."""
    password_reset_email_send(typed=typed, domain=domain, use_https=use_https, language=language)
