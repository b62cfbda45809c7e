"""Password reset by email with Django's own views and tokens (docs/security.md).

- The form takes the member number or the email; the page that follows says the same whether
  or not an account was found, and the email goes only to the address on file.
- Rate limits, in the cache: per client IP (``PASSWORD_RESET_IP_LIMIT`` requests an hour, then
  a 429 page that says to wait — the same for every account typed) and per account
  (``PASSWORD_RESET_ACCOUNT_LIMIT`` emails an hour; further requests are answered as usual and
  send nothing, so the limit does not tell whether the account exists either).
- The email (Japanese, text and HTML, in the site's words) is sent after the request's
  transaction commits.
- A successful reset ends the account's login lockout (from every IP), so a member who was
  locked out logs in with the new password at once.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from config.login_protection import AxesProxyHandler, client_ip
from subscriptions.models import Market

WINDOW_SECONDS = 60 * 60


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

    def send_mail(self, *args, **kwargs):
        """Send once the request's transaction has committed (at once outside one)."""
        send = super().send_mail
        transaction.on_commit(lambda: send(*args, **kwargs))


class PasswordResetView(auth_views.PasswordResetView):
    form_class = MemberPasswordResetForm
    template_name = "registration/password_reset_form.html"
    subject_template_name = "registration/password_reset_subject.txt"
    email_template_name = "registration/password_reset_email.txt"
    html_email_template_name = "registration/password_reset_email.html"

    def get_extra_email_context(self) -> dict:
        return {"market": Market.objects.order_by("pk").first(), "site_url": settings.SITE_URL}

    def post(self, request, *args, **kwargs):
        if not rate_limit_hit(f"password-reset:ip:{client_ip(request)}", settings.PASSWORD_RESET_IP_LIMIT):
            return render(request, "registration/password_reset_limited.html", status=429)
        self.extra_email_context = self.get_extra_email_context()
        return super().post(request, *args, **kwargs)


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
