"""Login brute-force protection with django-axes (settings: ``AXES_*``; docs/security.md).

Failures are counted per (login identifier, client IP): after ``AXES_FAILURE_LIMIT`` wrong
passwords that pair is locked for ``AXES_COOLOFF_TIME``, while the same member still logs in
from anywhere else — an attacker who knows a member number cannot lock its owner out.
"""

from __future__ import annotations

import datetime as dt
import math

from axes.backends import AxesStandaloneBackend
from axes.handlers.proxy import AxesProxyHandler
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from subscriptions.models import Market


class AxesHttpLoginBackend(AxesStandaloneBackend):
    """Axes' lockout check for logins that come with an HTTP request.

    ``authenticate()`` without a request is not a login form (the test client's ``login()``,
    a shell); stock Axes raises there. The login views always pass the request, and a test
    (tests/security/test_login_lockout.py) shows the member login page is protected.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def login_identifier(request, credentials) -> str:
    """The account an attempt targets, whichever identifier was typed.

    Members log in with their member number or their email; both count against the same
    account, case and surrounding spaces ignored.
    """
    field = settings.AXES_USERNAME_FORM_FIELD
    if credentials and credentials.get(field) is not None:
        typed = credentials.get(field)
    else:
        typed = getattr(request, "POST", {}).get(field)
    typed = str(typed or "").strip()[:254]
    if "@" in typed:
        username = get_user_model().objects.filter(email__iexact=typed).values_list("username", flat=True).first()
        if username:
            return username.casefold()
    return typed.casefold()


def client_ip(request) -> str | None:
    """REMOTE_ADDR, or the address the ``TRUSTED_PROXY_COUNT``-th proxy saw.

    Each trusted proxy appends the address it received from to X-Forwarded-For; anything left
    of those entries was sent by the client and is not trusted.
    """
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR")


def failures_left(request, credentials) -> int:
    """Wrong passwords left before this (account, IP) pair is locked (for the warning on the
    attempt before the lock)."""
    return settings.AXES_FAILURE_LIMIT - AxesProxyHandler.get_failures(request, credentials)


def lockout_until(request, credentials) -> dt.datetime:
    """When the locked (account, IP) pair may try again: its last failure + the cool-off."""
    last = (
        AccessAttempt.objects.filter(username=login_identifier(request, credentials), ip_address=client_ip(request))
        .order_by("-attempt_time")
        .values_list("attempt_time", flat=True)
        .first()
    )
    return (last or timezone.now()) + settings.AXES_COOLOFF_TIME


def lockout_response(request, original_response=None, credentials=None) -> HttpResponse:
    """The page a locked-out login gets (429): in Japanese, in the site's layout, saying when to
    try again, how to reach Customer Experience, and the way to reset the password.

    It says the same whether or not the account exists (Axes locks any typed identifier).
    """
    until = timezone.localtime(lockout_until(request, credentials))
    minutes = max(1, math.ceil((until - timezone.now()).total_seconds() / 60))
    context = {
        "until": until,
        "minutes": minutes,
        "market": Market.objects.order_by("pk").first(),
        "reset_url": reverse("password_reset"),
    }
    return render(request, "registration/locked_out.html", context, status=429)
