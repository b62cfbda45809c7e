"""Formatting of the figures ``quote_build`` and the ledger computed; nothing is computed here."""

from __future__ import annotations

from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def yen(amount) -> str:
    """12345 → ``¥12,345`` (amounts are integers in yen)."""
    if amount is None or amount == "":
        return ""
    amount = int(amount)
    sign = "-" if amount < 0 else ""
    return f"{sign}¥{abs(amount):,}"


@register.filter
def points(amount) -> str:
    """42 → ``♥ 42``; the guide's sign for SSR points."""
    if amount is None or amount == "":
        return ""
    return f"♥ {int(amount):,}"


@register.filter
def signed(amount) -> str:
    """A ledger entry's points with their sign: ``+18``, ``−42``."""
    amount = int(amount)
    return f"+{amount:,}" if amount > 0 else f"−{abs(amount):,}"


@register.filter
def pv(value, places: int = 0) -> str:
    """PV with ``places`` decimals: ``180`` or ``180.00`` (the guide's bundle line)."""
    if value is None or value == "":
        return ""
    value = Decimal(value)
    return f"{value:,.{int(places)}f}"
