"""What a load test reads off the wizard's pages: the form fields it posts back, the products."""

from __future__ import annotations

import re

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')
FINGERPRINT = re.compile(r'name="fingerprint" value="([^"]+)"')
PRODUCT = re.compile(r'href="/exchange/products/(\d+)/"')


def field(pattern: re.Pattern, text: str) -> str:
    """The first match's value, or '' when the page lacks it (the server then refuses the post)."""
    match = pattern.search(text)
    return match.group(1) if match else ""
