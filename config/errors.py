"""The answer to an error no view caught: a database that went away mid-request is a 503
("try again in a moment"), not a 500.

After a failover or ``pg_terminate_backend`` the connection pool hands out only checked
connections (``CONN_HEALTH_CHECKS``: psycopg's ``check_connection`` on every checkout), so
the next requests are answered normally. A request whose connection is cut while it runs
cannot be: its transaction is rolled back by PostgreSQL, nothing it wrote is kept, and it is
answered 503 with ``Retry-After`` — a browser shows a short page, the commerce system's
order events get JSON and send again (the event id makes that safe). Every such answer is
still logged as an error by Django. Used when DEBUG is off (``handler500``).
"""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.views import defaults

RETRY_AFTER_SECONDS = 5


def server_error(request):
    error = sys.exc_info()[1]
    if not isinstance(error, OperationalError | InterfaceError):
        return defaults.server_error(request)
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
