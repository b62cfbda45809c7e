"""Two blocks the wizard's pages repeat: the tax by rate of an exchange's figures
(``{% tax_lines %}``) and when its rewards ship (``{% next_shipment %}``)."""

from __future__ import annotations

from django import template

register = template.Library()


@register.inclusion_tag("exchange/_tax_lines.html")
def tax_lines(lines) -> dict:
    """A row per tax rate (the qualified invoice's breakdown): 「うち8%対象 （¥3,434 税込） ¥254」."""
    return {"tax_lines": lines}


@register.inclusion_tag("exchange/_next_shipment.html")
def next_shipment(shipment_date, cancel_day) -> dict:
    """The subscription order the rewards ship with and the last day the exchange can be cancelled;
    nothing for rewards that ship now."""
    return {"shipment_date": shipment_date, "cancel_day": cancel_day}
