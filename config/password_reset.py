"""Password reset by email with Django's own views and tokens (docs/security.md).

- The form takes the member number or the email; the page that follows says the same whether
  or not an account was found, and the email goes only to the address on file.
- Rate limits, in the cache: per client IP (``PASSWORD_RESET_IP_LIMIT`` requests an hour, then
  a 429 page that says to wait — the same for every account typed) and per account
  (``PASSWORD_RESET_ACCOUNT_LIMIT`` emails an hour; further requests are answered as usual and
  send nothing, so the limit does not tell whether the account exists either).
- The answer does not tell by its timing either: the request never looks the account up. It
  checks the limits and the form, then hands what was typed to a Celery task
  (``config.tasks.password_reset_email_task``, on commit), the same single message for a known
  and an unknown account; the worker finds the account and sends the email (Japanese, text and
  HTML, in the site's words). While the broker is unreachable the same work runs in a thread of
  the web process, after the answer, never inside it.
- A successful reset ends the account's login lockout (from every IP), so a member who was
  locked out logs in with the new password at once.
"""

from __future__ import annotations

import logging
import threading
from functools import partial

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm
from django.core.cache import cache
from django.db import connections, transaction
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from config.broker import task_send
from config.login_protection import AxesProxyHandler, client_ip
from subscriptions.models import Market

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60 * 60
SUBJECT_TEMPLATE = "registration/password_reset_subject.txt"
TEXT_TEMPLATE = "registration/password_reset_email.txt"
HTML_TEMPLATE = "registration/password_reset_email.html"


def rate_limit_hit(key: str, limit: int) -> bool:
    """Count one request under ``key`` in the hour's window; False once more than ``limit`` came."""
    cache.add(key, 0, timeout=WINDOW_SECONDS)
    try:
        count = cache.incr(key)
    except ValueError:  # the key expired between add and incr
        cache.set(key, 1, timeout=WINDOW_SECONDS)
        count = 1
    return count <= limit


class MemberPasswordResetForm(PasswordResetForm):
    """Django's reset form; the account is found by member number or email."""

    email = forms.CharField(
        label=_("Member number or email"),
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )

    def get_users(self, email: str):
        """Active accounts with a password and an email, by member number or email; at most
        ``PASSWORD_RESET_ACCOUNT_LIMIT`` emails an hour per account."""
        typed = email.strip()
        if not typed:
            return []
        users = get_user_model()._default_manager.filter(
            Q(email__iexact=typed) | Q(member__member_number=typed), is_active=True
        )
        return [
            user
            for user in users
            if user.has_usable_password()
            and user.email
            and rate_limit_hit(f"password-reset:account:{user.pk}", settings.PASSWORD_RESET_ACCOUNT_LIMIT)
        ]


def password_reset_email_send(*, typed: str, domain: str, use_https: bool, language: str) -> None:
    """The worker's half of a reset request: find the account ``typed`` names (member number or
    email; none, an inactive one or one over its hourly limit: nothing happens) and email it the
    link. ``domain``, ``use_https`` and ``language`` are the request's."""
    form = MemberPasswordResetForm(data={"email": typed})
    if not form.is_valid():
        return
    with translation.override(language):
        form.save(
            domain_override=domain,
            use_https=use_https,
            subject_template_name=SUBJECT_TEMPLATE,
            email_template_name=TEXT_TEMPLATE,
            html_email_template_name=HTML_TEMPLATE,
            extra_email_context={"market": Market.objects.order_by("pk").first(), "site_url": settings.SITE_URL},
        )


def _send_in_a_thread(**request_data) -> None:
    """The broker is unreachable: the same work after the answer, in a thread of its own (its own
    database connection, closed when done), so the answer still takes the same time."""

    def run():
        try:
            password_reset_email_send(**request_data)
        except Exception:
            logger.exception("A password reset email could not be sent.")
        finally:
            connections.close_all()

    threading.Thread(target=run, name="password-reset-email", daemon=True).start()


def password_reset_email_enqueue(**request_data) -> None:
    """On commit: hand the request to a worker (``config.tasks.password_reset_email_task``)."""
    from config.tasks import password_reset_email_task

    args = (request_data["typed"], request_data["domain"], request_data["use_https"], request_data["language"])
    if not task_send(password_reset_email_task, args, what="A password reset email"):
        _send_in_a_thread(**request_data)


class PasswordResetView(auth_views.PasswordResetView):
    form_class = MemberPasswordResetForm
    template_name = "registration/password_reset_form.html"

    def post(self, request, *args, **kwargs):
        if not rate_limit_hit(f"password-reset:ip:{client_ip(request)}", settings.PASSWORD_RESET_IP_LIMIT):
            return render(request, "registration/password_reset_limited.html", status=429)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        """The same work whether or not the account exists: one message with what was typed."""
        request_data = {
            "typed": form.cleaned_data["email"],
            "domain": self.request.get_host(),
            "use_https": self.request.is_secure(),
            "language": translation.get_language() or settings.LANGUAGE_CODE,
        }
        transaction.on_commit(partial(password_reset_email_enqueue, **request_data), robust=True)
        return HttpResponseRedirect(self.get_success_url())


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "registration/password_reset_confirm.html"

    def form_valid(self, form):
        response = super().form_valid(form)
        # The account's lockout ends: every (account, IP) pair of this login identifier.
        AxesProxyHandler.reset_attempts(username=form.user.get_username().casefold())
        return response


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "registration/password_reset_done.html"


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "registration/password_reset_complete.html"
