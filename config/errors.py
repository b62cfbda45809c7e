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
"""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.views import defaults

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
