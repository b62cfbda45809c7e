"""``{% exchange_lines_attach entries member %}``: the products of the exchanges behind the ledger
entries of a page (redemptions and their reversals), for the member's points history.

A template tag so that the history page of the ledger app below shows them without importing
the exchange app (docs/apps.md). One query for the whole page, none when it has no exchange.
"""

from collections import defaultdict

from django import template

from exchange.models import ExchangeLine

register = template.Library()

EXCHANGE_KINDS = ("redemption", "reversal")


@register.simple_tag
def exchange_lines_attach(entries, member) -> str:
    """Set ``entry.exchange_lines`` (the exchange's reward lines, product loaded) on each entry."""
    entries = list(entries)
    numbers = {entry.reference for entry in entries if entry.kind in EXCHANGE_KINDS and entry.reference}
    by_number = defaultdict(list)
    if numbers:
        lines = (
            ExchangeLine.objects.filter(
                member_id=member.pk, exchange__member_id=member.pk, exchange__number__in=numbers
            )
            .select_related("product", "exchange")
            .order_by("exchange_id", "product__sku")
        )
        for line in lines:
            by_number[line.exchange.number].append(line)
    for entry in entries:
        entry.exchange_lines = by_number.get(entry.reference, []) if entry.kind in EXCHANGE_KINDS else []
    return ""
