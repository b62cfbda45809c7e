"""The answer to an error no view caught: a database that went away mid-request is a 503
("try again in a moment"), not a 500 — nor the 400 Django gives when it is the session's save
that failed (``SessionInterrupted``, raised from the database error).

After a failover or ``pg_terminate_backend`` the connection pool hands out only checked
connections (``CONN_HEALTH_CHECKS``, config/database.py), so the next requests are answered
normally. A request whose connection is cut while it runs cannot be: its transaction is
rolled back by PostgreSQL, nothing it wrote is kept, and it is answered 503 with
``Retry-After`` — a browser shows a short page, the commerce system's order events get JSON
and send again (the event id makes that safe). Every such answer is still logged as an error
by Django. Used when DEBUG is off (``handler500``, ``handler400``).

A refusal (403) is a page a member can act on: ``handler403`` and ``CSRF_FAILURE_VIEW`` answer in
the member layout (``templates/403.html``: Japanese, a title, what happened, the way forward);
in the back office, the admin's own 403 (``backoffice.views.permission_denied``).

A page that does not exist (404: a stale link, another member's exchange number) is the member
layout's ``templates/404.html`` with the way back (``handler404``), also with DEBUG on, where
Django would show its technical page (``NotFoundPageMiddleware``: the demo shows what members
see). The admin keeps Django's 404, the order-event API answers JSON.
"""

from __future__ import annotations

import logging
import sys

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.views import defaults

from backoffice import views as backoffice_views
from subscriptions.access import member_of
from subscriptions.models import Market

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5


def database_gone(error: BaseException | None) -> bool:
    """Whether ``error`` is, or was raised while handling, a lost or refused database connection."""
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, OperationalError | InterfaceError):
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False


def unavailable(request) -> HttpResponse:
    reason = _("The service is briefly unavailable. Nothing was saved; please try again in a moment.")
    if request.path.startswith("/api/"):
        response = JsonResponse({"error": "unavailable", "reason": reason}, status=503)
    else:
        # Self-contained: no template, no query, no session (the database is what failed).
        response = HttpResponse(
            f'<!doctype html><html lang="ja"><meta charset="utf-8"><meta name="viewport" '
            f'content="width=device-width"><title>{escape(_("Please try again"))}</title>'
            f"<p>{escape(reason)}</p></html>",
            status=503,
        )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def server_error(request):
    if database_gone(sys.exc_info()[1]):
        return unavailable(request)
    return defaults.server_error(request)


def bad_request(request, exception):
    if database_gone(exception):
        return unavailable(request)
    return defaults.bad_request(request, exception)


def _market_of(request) -> Market | None:
    """The signed-in member's market (its Customer Experience phone), else the first market."""
    user = getattr(request, "user", None)
    member = member_of(user) if user is not None and user.is_authenticated else None
    return member.market if member is not None else Market.objects.order_by("pk").first()


def _refused(request, *, csrf: bool) -> HttpResponse:
    if request.path.startswith(reverse("admin:index")):
        return backoffice_views.permission_denied(request)
    return render(request, "403.html", {"csrf": csrf, "market": _market_of(request)}, status=403)


def permission_denied(request, exception=None):
    """``handler403``: the back office's page in admin, the member site's elsewhere."""
    return _refused(request, csrf=False)


def csrf_failure(request, reason: str = ""):
    """``CSRF_FAILURE_VIEW``: a form the server will not accept (sent from a page open since
    before a login or a session expiry, or without the cookie). Nothing was changed; the page
    says so and how to go on. The reason goes to the log, not to the page."""
    logger.warning("CSRF refused %s %s: %s", request.method, request.path, reason)
    return _refused(request, csrf=True)


def _not_member_site(path: str) -> bool:
    """The back office and the order-event API answer their own way, not with the member layout."""
    return path.startswith((reverse("admin:index"), "/api/"))


def page_not_found(request, exception=None):
    """``handler404``: 「ページが見つかりません」 in the member layout (the member's language), saying
    nothing was changed, with the way back: home and the exchange history, or the login."""
    if request.path.startswith("/api/"):
        return JsonResponse({"error": "not_found", "reason": "No such endpoint."}, status=404)
    if _not_member_site(request.path):
        return defaults.page_not_found(request, exception)
    return render(request, "404.html", {"market": _market_of(request)}, status=404)


class NotFoundPageMiddleware:
    """With DEBUG on (``./dev demo``, a developer's machine) Django answers every 404 with its
    technical page (the URL patterns, in English) instead of calling ``handler404``. A member who
    follows a stale link in the demo should see what they would see in production, so a 404 of
    the member site is answered with ``page_not_found`` here as well. With DEBUG off this does
    nothing: Django calls ``handler404`` itself. The admin keeps the technical page in DEBUG."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 404 and settings.DEBUG and not _not_member_site(request.path):
            return page_not_found(request)
        return response
