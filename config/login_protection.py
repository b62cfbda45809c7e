"""Login brute-force protection with django-axes (settings: ``AXES_*``; docs/security.md).

Failures are counted per (login identifier, client IP): after ``AXES_FAILURE_LIMIT`` wrong
passwords that pair is locked for ``AXES_COOLOFF_TIME``, while the same member still logs in
from anywhere else — an attacker who knows a member number cannot lock its owner out.
"""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib.auth import get_user_model


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
