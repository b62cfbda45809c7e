"""A page of a queryset in one query: each row carries the length of the whole list.

``Paginator`` asks the list for its length (a ``COUNT`` query) and then for the page's rows (a
second query). Here the page's rows are read first with ``COUNT(*) OVER ()`` beside each row,
which the database computes before the page's ``LIMIT``: the length comes with the rows. Only a
page number past the end, whose query returns no row, costs a ``COUNT`` as well (docs/performance.md).
"""

from __future__ import annotations

from django.core.paginator import Page, Paginator
from django.db.models import Count, QuerySet, Window

LENGTH = "list_length"
MAX_OFFSET = 2**62  # beyond any list: such a page is past the end, not a query the database refuses


class _CountedWithPage:
    """What ``Paginator`` reads of its list (``count()`` and a slice), answered from one query for
    the page ``number`` it is expected to ask for."""

    def __init__(self, queryset: QuerySet, *, number: int, per_page: int):
        self.queryset = queryset
        self.start = (number - 1) * per_page
        if self.start > MAX_OFFSET:
            self.rows = []
        else:
            self.rows = list(queryset.annotate(**{LENGTH: Window(Count("pk"))})[self.start : self.start + per_page])

    def count(self) -> int:
        if self.rows:
            return getattr(self.rows[0], LENGTH)
        return 0 if self.start == 0 else self.queryset.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index: slice) -> list:
        if index.start == self.start:
            return self.rows[: index.stop - index.start]
        return list(self.queryset[index])  # a number past the end: Paginator asks for the last page


def page_of(queryset: QuerySet, *, number, per_page: int) -> Page:
    """``Paginator(queryset, per_page).get_page(number)`` in one query for a page that exists."""
    try:
        expected = max(int(number), 1)
    except (TypeError, ValueError):
        expected = 1
    return Paginator(_CountedWithPage(queryset, number=expected, per_page=per_page), per_page).get_page(number)
