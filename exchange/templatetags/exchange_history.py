"""``{% exchange_lines_attach entries member %}``: the products of the exchanges behind the ledger
entries of a page (redemptions and their reversals), for the member's points history.

A template tag so that the history page of the ledger app below shows them without importing
the exchange app (docs/apps.md). Where the entries were read with their products
(exchange/history.py: PostgreSQL, SQLite from 3.44) it only picks the active language's text;
elsewhere one query for the whole page, none when it has no exchange, compiled once per process
(subscriptions/compiled_queries.py) with a page's worth of exchange numbers, the unused ones
repeating the first.
"""

from __future__ import annotations

from collections import defaultdict

from django import template
from django.utils.translation import get_language

from exchange.history import EXCHANGE_KINDS, PRODUCTS_COLUMNS, SEPARATOR, line_text
from exchange.models import ExchangeLine
from ssr_points.selectors import HISTORY_PAGE_SIZE
from subscriptions.compiled_queries import PLACEHOLDER_ID, PLACEHOLDER_KEY, CompiledQuery

register = template.Library()


def _history_lines(member_id: int, **numbers: str):
    return (
        ExchangeLine.objects.filter(
            member_id=member_id, exchange__member_id=member_id, exchange__number__in=list(numbers.values())
        )
        .order_by("exchange_id", "product__sku")
        .values_list("exchange__number", "product__name_ja", "product__name_en", "quantity")
    )


_NUMBER_SLOTS = [f"number_{i}" for i in range(HISTORY_PAGE_SIZE)]
_HISTORY_LINES = CompiledQuery(
    _history_lines,
    member_id=PLACEHOLDER_ID,
    **{slot: f"{PLACEHOLDER_KEY}-{i}" for i, slot in enumerate(_NUMBER_SLOTS)},
)


def history_lines(*, member_id: int, numbers: list[str]) -> dict[str, list[str]]:
    """The reward lines of the member's exchanges ``numbers`` as text, by exchange number."""
    by_number: dict[str, list[str]] = defaultdict(list)
    english = _language() == "en"
    for start in range(0, len(numbers), len(_NUMBER_SLOTS)):
        chunk = numbers[start : start + len(_NUMBER_SLOTS)]
        chunk += [chunk[0]] * (len(_NUMBER_SLOTS) - len(chunk))
        rows = _HISTORY_LINES.rows(member_id=member_id, **dict(zip(_NUMBER_SLOTS, chunk, strict=True)))
        for number, name_ja, name_en, quantity in rows:
            by_number[number].append(line_text(name_en if english else name_ja, quantity))
    return by_number


def _language() -> str:
    """The language of the product names the history shows: "en" or "ja", as ``Product.name``."""
    return "en" if (get_language() or "ja").startswith("en") else "ja"


@register.simple_tag
def exchange_lines_attach(entries, member) -> str:
    """Set ``entry.exchange_products`` on each entry: the text the history shows for an exchange,
    「name × 1、name × 2」, "" for other entries."""
    entries = list(entries)
    column = PRODUCTS_COLUMNS[_language()]
    unread = [entry for entry in entries if not hasattr(entry, column)]
    numbers = sorted({entry.reference for entry in unread if entry.kind in EXCHANGE_KINDS and entry.reference})
    by_number = history_lines(member_id=member.pk, numbers=numbers) if numbers else {}
    for entry in entries:
        if hasattr(entry, column):
            entry.exchange_products = getattr(entry, column)
        else:
            lines = by_number.get(entry.reference, []) if entry.kind in EXCHANGE_KINDS else []
            entry.exchange_products = SEPARATOR.join(lines)
    return ""
