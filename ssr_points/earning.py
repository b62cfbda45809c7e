"""How many points a shipped order earns: the one rule the grant and the home page's forecast share."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal


def points_for_pv(*, pv, percent: int) -> int:
    """floor(PV × earn rate): the points an order of ``pv`` earns at ``percent``."""
    return int((Decimal(pv) * percent / 100).to_integral_value(rounding=ROUND_FLOOR))
