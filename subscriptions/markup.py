"""``format_html`` for the rows a page repeats (the history, the lots, product thumbnails).

Django's ``format_html`` escapes each value through ``escape``, which is wrapped by
``keep_lazy`` to accept lazy translations: that check costs more than the escaping (~3 µs
per value, ~28 µs for a row of seven, docs/performance.md). This one escapes the same way
(``__html__`` for safe strings, else ``html.escape`` with quotes, which is what Django's
``escape`` calls) and turns lazy translations into text with ``str`` like any other value.
"""

from __future__ import annotations

import html

from django.utils.safestring import SafeString, mark_safe


def escaped(value) -> str:
    """``conditional_escape`` without the lazy check: a safe string as it is, else escaped."""
    if hasattr(value, "__html__"):
        return value.__html__()
    return html.escape(str(value))


def format_html(template: str, *values) -> SafeString:
    """``template.format`` of the values, each escaped; ``template`` itself is trusted markup."""
    return mark_safe(template.format(*map(escaped, values)))  # noqa: S308 - every value escaped above


def interpolated(message: str, **values) -> str:
    """A translated message with its values escaped, as ``{% blocktranslate with … %}`` writes it
    (the message itself is the catalogue's markup, as in the template)."""
    return message % {name: escaped(value) for name, value in values.items()}
