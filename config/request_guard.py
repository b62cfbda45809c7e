"""Refuse requests carrying NUL bytes before they reach a view or the database.

PostgreSQL text cannot hold NUL (0x00): a URL such as ``/exchange/done/%00/``, an admin
search ``?q=%00``, a form post read by a view (``member_numbers`` on the ledger check page),
or a session cookie looked up in the session table would reach a query and fail with a 500.
Django's form fields already refuse NUL; URL parts, query strings, cookies and raw POST
values read by views do not. Checked: the path, the query string, the cookies, and form
posts both URL-encoded and multipart (field names and values, upload field names; file
contents are not text and are left alone). Found by tests/security/test_fuzz_member_forms.py
and issue 10; tests/security/test_nul_bytes.py holds it.

The JSON order events check their own bodies (``order_events.views``), with a JSON reason.
"""

from __future__ import annotations

from django.http import HttpResponseBadRequest

NUL = "\x00"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _has_nul(query_dict) -> bool:
    return any(NUL in key or any(NUL in value for value in values) for key, values in query_dict.lists())


def _files_have_nul(files) -> bool:
    """A NUL in an upload's field name (Django's parser already strips it from file names)."""
    return any(NUL in field for field in files)


class RejectNulBytesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            NUL in request.path
            or _has_nul(request.GET)
            or any(NUL in name or NUL in value for name, value in request.COOKIES.items())
            or (
                request.method == "POST"
                and request.content_type in FORM_TYPES
                and (_has_nul(request.POST) or _files_have_nul(request.FILES))
            )
        ):
            return HttpResponseBadRequest("Bad request.", content_type="text/plain")
        return self.get_response(request)
