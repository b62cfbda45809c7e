"""The exchange wizard's cart, kept in the session between the steps.

It holds only product ids, quantities and the 「今すぐ申し込む」 (apply now) choice; every
figure is recomputed by ``quote_build`` on each page, so nothing the browser or an old page
holds about prices, points or fees is ever used.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from exchange.quotes import MAX_QUANTITY

SESSION_KEY = "exchange_cart"


@dataclass
class Cart:
    quantities: dict[int, int] = field(default_factory=dict)  # reward product id → quantity
    ship_now: bool = False

    @classmethod
    def load(cls, session) -> Cart:
        data = session.get(SESSION_KEY)
        if not isinstance(data, dict):
            return cls()
        quantities = {}
        for product_id, quantity in (data.get("quantities") or {}).items():
            try:
                product_id, quantity = int(product_id), int(quantity)
            except (TypeError, ValueError):
                continue
            if 1 <= quantity <= MAX_QUANTITY:
                quantities[product_id] = quantity
        return cls(quantities=quantities, ship_now=data.get("ship_now") is True)

    def save(self, session) -> None:
        session[SESSION_KEY] = {
            "quantities": {str(product_id): quantity for product_id, quantity in self.quantities.items()},
            "ship_now": self.ship_now,
        }

    @staticmethod
    def clear(session) -> None:
        session.pop(SESSION_KEY, None)

    def __bool__(self) -> bool:
        return bool(self.quantities)

    def lines(self) -> list[tuple[int, int]]:
        """(product id, quantity) pairs for ``quote_build``."""
        return sorted(self.quantities.items())

    def lines_with(self, product_id: int, quantity: int) -> list[tuple[int, int]]:
        """The cart's lines with ``product_id`` set to ``quantity`` (what the quantity step previews)."""
        quantities = dict(self.quantities)
        quantities[product_id] = quantity
        return sorted(quantities.items())
