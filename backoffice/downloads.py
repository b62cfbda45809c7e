"""CSV downloads of the back office, safe to open in a spreadsheet.

A cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by Excel,
LibreOffice and Google Sheets as a formula (CSV injection: ``=HYPERLINK(…)``, ``=cmd|…``). Any
text that staff or outside systems typed — a market code, a reason — may begin so. Such a text
cell is written with a leading apostrophe, which the spreadsheet shows as text and does not
evaluate (OWASP's recommendation). Numbers stay numbers: ``-20`` points is a figure, not a
formula, and is written as it is. The file name keeps letters, digits, ``-`` and ``_`` only.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence

from django.http import HttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    """``value`` as written to a CSV cell: text that a spreadsheet would evaluate is neutralised."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def file_name_part(text: str) -> str:
    """A piece of a download's file name: nothing a header or a spreadsheet could read as more."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_-") or "_"


def csv_response(*, name_parts: Sequence[str], header: Sequence, rows: Iterable[Sequence]) -> HttpResponse:
    """A CSV attachment (UTF-8 with a BOM: Excel opens Japanese correctly only with one) named
    ``part-part-….csv`` from ``name_parts``."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = "-".join(file_name_part(part) for part in name_parts)
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow([csv_cell(cell) for cell in header])
    writer.writerows([csv_cell(cell) for cell in row] for row in rows)
    return response
