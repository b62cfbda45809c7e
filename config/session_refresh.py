"""Sliding session expiry without a session write on every request.

``SESSION_SAVE_EVERY_REQUEST`` would write the session (an UPDATE, or a Redis SET) on each
request. Here a signed-in session is saved again only when its last save is older than
``SESSION_REFRESH_SECONDS``: the session still expires ``SESSION_COOKIE_AGE`` after the last
activity, give or take that interval, for one write a minute instead of one per page.
"""

from __future__ import annotations

import time

from django.conf import settings

REFRESHED_AT = "_refreshed_at"


def session_stamp_on_login(sender, request, user, **kwargs):
    """A login saves the session anyway: stamp it, so the next request need not save it again."""
    if request is not None and hasattr(request, "session"):
        request.session[REFRESHED_AT] = int(time.time())


class SessionRefreshMiddleware:
    """Place after ``SessionMiddleware``: it marks the session modified so that one saves it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code >= 500:  # e.g. the database is gone: reading the session would wait for it again
            return response
        session = getattr(request, "session", None)
        if session is None or session.is_empty():  # no session, or it expired or was flushed
            return response
        now = int(time.time())
        refreshed_at = session.get(REFRESHED_AT)
        if not isinstance(refreshed_at, int) or now - refreshed_at >= settings.SESSION_REFRESH_SECONDS:
            session[REFRESHED_AT] = now  # modified → SessionMiddleware saves it, cookie renewed
        return response
