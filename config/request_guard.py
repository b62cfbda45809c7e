"""Refuse requests carrying NUL bytes before they reach a view or the database.

PostgreSQL text cannot hold NUL (0x00): a URL such as ``/exchange/done/%00/`` or an admin
search ``?q=%00`` would reach a query and fail with a 500. Django's form fields already
refuse NUL; URL parts, query strings and raw POST values read by views do not. Found by
tests/security/test_fuzz_member_forms.py.
"""

from __future__ import annotations

from django.http import HttpResponseBadRequest

NUL = "\x00"


def _has_nul(query_dict) -> bool:
    return any(NUL in key or any(NUL in value for value in values) for key, values in query_dict.lists())


class RejectNulBytesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            NUL in request.path
            or _has_nul(request.GET)
            or (
                request.method == "POST"
                and request.content_type == "application/x-www-form-urlencoded"
                and _has_nul(request.POST)
            )
        ):
            return HttpResponseBadRequest("Bad request.", content_type="text/plain")
        return self.get_response(request)
